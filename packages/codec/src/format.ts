// Section 2: what each side advertises in `supported_api_versions`.

/** Format **legacy**: the per-device map every MSC3819 host speaks (section 3.1). */
export const FORMAT_LEGACY = "org.matrix.msc3819";
/** Format **recipients**: one `content` for a list of devices (section 3.2). */
export const FORMAT_RECIPIENTS = "org.matrix.msc3819.recipient_devices";
/** Format **scoped**: recipients plus a room scope stamped by the driver (section 3.3). */
export const FORMAT_SCOPED = "org.matrix.msc3819.scoped";

/** The name a decoded request carries for each wire format. */
export type Format = "legacy" | "recipients" | "scoped";

/** Every format, oldest first. */
export const FORMATS: ReadonlyArray<Format> = ["legacy", "recipients", "scoped"];

const IDENTIFIERS: Readonly<Record<Format, string>> = {
  legacy: FORMAT_LEGACY,
  recipients: FORMAT_RECIPIENTS,
  scoped: FORMAT_SCOPED,
};

/** The version identifier that advertises `format`. */
export function formatIdentifier(format: Format): string {
  return IDENTIFIERS[format];
}

/** The version identifiers of every format, oldest first: what a driver or widget advertises. */
export const FORMAT_IDENTIFIERS: ReadonlyArray<string> = FORMATS.map(formatIdentifier);

/** The formats a peer advertised in its `supported_versions`, oldest first. */
export function formatsIn(supportedVersions: ReadonlyArray<unknown>): ReadonlyArray<Format> {
  return FORMATS.filter((format) => supportedVersions.includes(IDENTIFIERS[format]));
}

/**
 * The newest format both sides speak. A peer that speaks any format at all speaks legacy, so a
 * host advertising only `org.matrix.msc3819` yields `"legacy"`; `undefined` means the peer does
 * not speak MSC3819.
 */
export function newestCommonFormat(
  ours: ReadonlyArray<Format>,
  theirs: ReadonlyArray<Format>,
): Format | undefined {
  for (let i = FORMATS.length - 1; i >= 0; i--) {
    const format = FORMATS[i] as Format;
    if (ours.includes(format) && theirs.includes(format)) return format;
  }
  return undefined;
}

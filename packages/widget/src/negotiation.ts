import {
  FORMATS,
  type Format,
  formatIdentifier,
  formatsIn,
  newestCommonFormat,
} from "@widget-todevice/codec";
import {
  type ApiVersion,
  CurrentApiVersions,
  type IWidgetApiRequest,
  type WidgetApi,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";

// Section 2: both sides answer `supported_api_versions`; the widget sends in the newest format
// both advertise and falls back to legacy.

/** What a widget advertises: matrix-widget-api's own versions plus its to-device formats. */
export function widgetSupportedVersions(
  formats: ReadonlyArray<Format> = FORMATS,
): ReadonlyArray<ApiVersion> {
  return [...new Set<ApiVersion>([...CurrentApiVersions, ...formats.map(formatIdentifier)])];
}

/**
 * Answers the host's `supported_api_versions` with `widgetSupportedVersions(formats)` instead
 * of the stock list, which names only `org.matrix.msc3819`. Returns the function that stops it.
 */
export function advertiseFormats(api: WidgetApi, formats: ReadonlyArray<Format>): () => void {
  const versions = widgetSupportedVersions(formats);
  const onVersions = (event: CustomEvent<IWidgetApiRequest>): void => {
    event.preventDefault();
    api.transport.reply(event.detail, { supported_versions: [...versions] });
  };
  const action = `action:${WidgetApiToWidgetAction.SupportedApiVersions}`;
  api.on(action, onVersions);
  return () => api.off(action, onVersions);
}

/** The formats a host advertised, oldest first. */
export function hostFormats(supportedVersions: ReadonlyArray<unknown>): ReadonlyArray<Format> {
  return formatsIn(supportedVersions);
}

/**
 * The format of one send. An unscoped send uses the newest unscoped format the host speaks,
 * else legacy (a host that advertises nothing may still be an older MSC3819 host; if it is
 * not, its error reaches the caller). A scoped send needs a scoping host: `undefined` means
 * the send must be refused, never sent unscoped.
 */
export function sendFormat(host: ReadonlyArray<Format>, scoped: boolean): Format | undefined {
  if (scoped) return host.includes("scoped") ? "scoped" : undefined;
  return newestCommonFormat(["legacy", "recipients"], host) ?? "legacy";
}

/** The newest format both sides speak: what the connection reports. */
export function negotiatedFormat(host: ReadonlyArray<Format>): Format {
  return newestCommonFormat(FORMATS, host) ?? "legacy";
}

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
import { isGranted } from "./capabilities.js";
import { quote, ToDeviceNegotiationError } from "./errors.js";

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

/** What the widget and the host agreed on, once capabilities are negotiated. */
export interface ToDeviceNegotiation {
  /** The newest format both sides speak. */
  readonly format: Format;
  /** The formats the host advertised, oldest first (`[]` if it advertised none). */
  readonly hostFormats: ReadonlyArray<Format>;
  /** Declared types whose capabilities the host granted. */
  readonly granted: {
    readonly send: ReadonlyArray<string>;
    readonly receive: ReadonlyArray<string>;
  };
  /** Declared types whose capabilities the host did not grant. */
  readonly denied: {
    readonly send: ReadonlyArray<string>;
    readonly receive: ReadonlyArray<string>;
  };
  /** Scoped mode (section 7): both sides scope and the widget is bound to a room. */
  readonly scoped: boolean;
}

/** What one side of the negotiation declared: its formats, its types and its room. */
export interface Declared {
  readonly formats: ReadonlyArray<Format>;
  readonly send: ReadonlySet<string>;
  readonly receive: ReadonlySet<string>;
  readonly roomId: string | undefined;
}

/** The outcome, once the widget API is ready: the host's versions and what it granted. */
export async function negotiate(api: WidgetApi, declared: Declared): Promise<ToDeviceNegotiation> {
  // Cached by the widget API since `start()`; `[]` if the host did not answer. The guard
  // keeps malformed answers out when it runs first; this catches those it could not.
  const versions: unknown = await api.getClientVersions();
  if (!Array.isArray(versions) || versions.some((version) => typeof version !== "string")) {
    throw new ToDeviceNegotiationError(
      `the host sent a malformed negotiation message, its supported_versions: ${quote(versions)} (an array of strings)`,
      "invalid_host_message",
      versions,
    );
  }
  const host = hostFormats(versions);
  const ours = declared.formats.filter((format) => host.includes(format));
  const grant = (direction: "send" | "receive", types: ReadonlySet<string>) => {
    const granted = [...types].filter((type) => isGranted(api, direction, type));
    return { granted, denied: [...types].filter((type) => !granted.includes(type)) };
  };
  const send = grant("send", declared.send);
  const receive = grant("receive", declared.receive);
  return {
    format: negotiatedFormat(ours),
    hostFormats: host,
    granted: { send: send.granted, receive: receive.granted },
    denied: { send: send.denied, receive: receive.denied },
    scoped: ours.includes("scoped") && declared.roomId !== undefined,
  };
}

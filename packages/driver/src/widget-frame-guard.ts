// The host's guard on a widget's frame (docs/protocol.md §10). matrix-widget-api's
// PostmessageTransport (1.19) listens for `message` on the host window and trusts `data.widgetId`
// alone: it never compares `event.source` with the widget's iframe, and checks the origin only
// under `strictOriginCheck`, which hosts leave off. Any frame on the page could then post
// requests under another widget's ID and use that widget's capabilities (its to-device sends
// included), or answer the host's requests to it. The guard stops such messages before the
// transport sees them.

/** One message the guard stopped, for the host to show or log. */
export interface BlockedWidgetMessage {
  /** The widget ID the message claimed. */
  readonly widgetId: string;
  /** Why it was stopped: it came from another window, or from the right window at another origin. */
  readonly reason: "foreign_source" | "foreign_origin";
  /** `event.origin` of the message. */
  readonly origin: string;
  /** The message as posted (`data` of the event). */
  readonly data: unknown;
}

/** What `guardWidgetFrame` guards, and whom it tells. */
export interface WidgetFrameGuardOptions {
  /** The widget's ID, as in the host's `ClientWidgetApi` (`widget.id`). */
  readonly widgetId: string;
  /** The widget's iframe: only its window may speak for `widgetId`. */
  readonly iframe: HTMLIFrameElement;
  /**
   * The origin the widget is served from (`new URL(widgetUrl).origin`), when the host knows it:
   * messages from the iframe's window at another origin (it navigated elsewhere) are stopped
   * too. Leave it out for a sandboxed frame without `allow-same-origin` (origin `"null"`).
   */
  readonly origin?: string;
  /** Told about every message stopped. */
  readonly onBlocked?: (blocked: BlockedWidgetMessage) => void;
  /** Where the transport listens; `window` by default. */
  readonly target?: Window;
}

/** Stops guarding. */
export type DisposeWidgetFrameGuard = () => void;

/**
 * Guards the widget frame `iframe` for `widgetId`: every `message` event on the host window that
 * names `widgetId` and does not come from that iframe's window (or comes from it at another
 * origin than `origin`) is stopped in the capture phase, before matrix-widget-api's listener,
 * and reported to `onBlocked`. Call it before creating the widget's `ClientWidgetApi`.
 *
 * @returns a function that removes the guard (call it when the widget is removed)
 */
export function guardWidgetFrame(options: WidgetFrameGuardOptions): DisposeWidgetFrameGuard {
  const target = options.target ?? window;
  const { widgetId, iframe, origin, onBlocked } = options;
  const listener = (event: MessageEvent) => {
    if (claimedWidgetId(event.data) !== widgetId) return;
    // Read at each event: the iframe's window exists only once it is in the document.
    const fromFrame = event.source !== null && event.source === iframe.contentWindow;
    let reason: BlockedWidgetMessage["reason"] | undefined;
    if (!fromFrame) reason = "foreign_source";
    else if (origin !== undefined && event.origin !== origin) reason = "foreign_origin";
    if (reason === undefined) return;
    // Capture phase on the window, registered first: no other `message` listener sees it.
    event.stopImmediatePropagation();
    onBlocked?.({ widgetId, reason, origin: event.origin, data: event.data });
  };
  target.addEventListener("message", listener as EventListener, { capture: true });
  return () => target.removeEventListener("message", listener as EventListener, { capture: true });
}

/** The `widgetId` a widget API message claims, if it is one. */
function claimedWidgetId(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const widgetId = (data as { widgetId?: unknown }).widgetId;
  return typeof widgetId === "string" ? widgetId : undefined;
}

/**
 * Wiring. matrix-widget-api 1.19's PostmessageTransport listens on `globalThis` on both sides
 * and posts to the other side's window: the host to `iframe.contentWindow`, the widget to
 * `globalThis.parent`. It never checks `event.source`; it checks the origin only with
 * `strictOriginCheck`, and otherwise tells traffic apart by `api` direction, `widgetId` and
 * `requestId`. So each side gets a window stand-in whose `postMessage` checks the target
 * origin like a browser, structured-clones the message, and dispatches a `MessageEvent` (with
 * the sender's origin and window as `source`) on the shared global window in a later task.
 * Several frames can share one page because every frame has its own widget ID.
 */

export const HOST_ORIGIN = "https://host.example";
export const WIDGET_ORIGIN = "https://widget.example";

/** A window stand-in whose `postMessage` lands on the shared global window. */
export class FrameWindow {
  /** Everything posted to this window, as the receiver saw it (after structured cloning). */
  readonly posted: unknown[] = [];

  constructor(
    /** The origin of the window this stands in for (what a sender must target). */
    readonly origin: string,
    /** The origin messages posted *to* this window come from. */
    private readonly senderOrigin: string,
    private readonly source: () => FrameWindow,
  ) {}

  postMessage(message: unknown, targetOrigin: string | null): void {
    if (targetOrigin !== "*" && targetOrigin !== null && targetOrigin !== this.origin) {
      throw new Error(`postMessage: target origin ${targetOrigin} does not match ${this.origin}`);
    }
    const data: unknown = structuredClone(message);
    this.posted.push(data);
    // A later task, like a real postMessage; a microtask keeps it working under fake timers.
    queueMicrotask(() => {
      globalThis.dispatchEvent(
        new MessageEvent("message", {
          data,
          origin: this.senderOrigin,
          source: this.source() as unknown as Window,
        }),
      );
    });
  }
}

/**
 * A widget in a frame: a real matrix-widget-api `ClientWidgetApi` (the host) and the widget's
 * real `WidgetApi`, exchanging structured-cloned `postMessage`s on the shared global window.
 *
 * Adapted from packages/driver/test/harness/widget-frame.ts (not part of the driver's public
 * entry points): matrix-widget-api 1.19's PostmessageTransport listens on `globalThis` on both
 * sides and tells traffic apart by direction, widget ID and request ID, so every frame of a test
 * needs its own widget ID. Unlike that harness, the widget side is handed out unstarted, so that a
 * `RoomWidgetClient` (which starts its `WidgetApi` itself) or a stock widget can drive it.
 */
import { ClientWidgetApi, Widget, WidgetApi, type WidgetDriver } from "matrix-widget-api";

export const HOST_ORIGIN = "https://host.example";
export const WIDGET_ORIGIN = "https://widget.example";

/** A window stand-in whose `postMessage` lands on the shared global window. */
class FrameWindow {
  /** Everything posted to this window, as the receiver saw it (after structured cloning). */
  readonly posted: unknown[] = [];

  constructor(
    readonly origin: string,
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

export interface FrameOptions {
  readonly widgetId: string;
  /** The host's `WidgetDriver`: what it approves and which room data it serves. */
  readonly driver: WidgetDriver;
  readonly creatorUserId?: string;
}

export interface Frame {
  /** The widget's API, not started: the widget starts it (and sends `content_loaded`). */
  readonly widgetApi: WidgetApi;
  readonly clientApi: ClientWidgetApi;
  /** Every message the host posted to the widget, in order. */
  readonly toWidget: ReadonlyArray<unknown>;
  stop(): void;
}

/**
 * Opens a frame whose widget says `content_loaded` itself (`waitForIframeLoad: false`, as
 * Element Web embeds Element Call): the host negotiates capabilities once the widget started.
 */
export function openFrame(options: FrameOptions): Frame {
  let hostWindow: FrameWindow;
  const widgetWindow: FrameWindow = new FrameWindow(WIDGET_ORIGIN, HOST_ORIGIN, () => hostWindow);
  hostWindow = new FrameWindow(HOST_ORIGIN, WIDGET_ORIGIN, () => widgetWindow);

  // The host first, so that it listens before the widget says anything.
  const iframe = {
    contentWindow: widgetWindow,
    addEventListener: () => undefined,
  } as unknown as HTMLIFrameElement;
  const widget = new Widget({
    id: options.widgetId,
    creatorUserId: options.creatorUserId ?? "@alice:example.org",
    type: "m.call",
    url: `${WIDGET_ORIGIN}/index.html`,
    waitForIframeLoad: false,
  });
  const clientApi = new ClientWidgetApi(widget, iframe, options.driver);

  // The widget: `WidgetApi` posts to `globalThis.parent`, so the frame's parent is the host.
  const parent = Object.getOwnPropertyDescriptor(globalThis, "parent");
  Object.defineProperty(globalThis, "parent", { value: hostWindow, configurable: true });
  let widgetApi: WidgetApi;
  try {
    widgetApi = new WidgetApi(options.widgetId, HOST_ORIGIN);
  } finally {
    if (parent === undefined) Reflect.deleteProperty(globalThis, "parent");
    else Object.defineProperty(globalThis, "parent", parent);
  }

  return {
    widgetApi,
    clientApi,
    toWidget: widgetWindow.posted,
    stop() {
      clientApi.stop();
      widgetApi.transport.stop();
    },
  };
}

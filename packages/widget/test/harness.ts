// A widget window / host window pair for tests: the widget side is a real matrix-widget-api
// `WidgetApi` (inside `ToDeviceWidget`), the host side a real `ClientWidgetApi`, and every
// message between them is a real `window.postMessage` in happy-dom.
//
// matrix-widget-api posts to `globalThis.parent` (widget) and `iframe.contentWindow` (host), and
// both sides listen on `globalThis`. In one happy-dom realm the page is its own parent, so the
// pair shares one window: the host's iframe's `contentWindow` is that window, and the two
// PostmessageTransports tell their traffic apart by `api` direction and `widgetId`, as they do
// in a browser (neither checks `event.source`; origins are checked by `postMessage` itself,
// which happy-dom enforces). happy-dom hands the same object to the listener, where a browser
// hands a structured clone: `installStructuredClone` restores that, so no test passes by
// sharing references.
import {
  type Capability,
  ClientWidgetApi,
  type IWidget,
  Widget,
  WidgetDriver,
} from "matrix-widget-api";
import { vi } from "vitest";

export const ORIGIN = window.location.origin;
export const WIDGET_ID = "w1";
export const ALICE = "@alice:example.org";
export const ROOM = "!r1:example.org";

/** The widget's URL as a host renders it: parameters filled in by the host's template. */
export function widgetUrl(parameters: Record<string, string> = {}): string {
  const url = new URL("/widget/index.html", ORIGIN);
  const all = {
    widgetId: WIDGET_ID,
    parentUrl: `${ORIGIN}/host/`,
    userId: ALICE,
    roomId: ROOM,
    deviceId: "ALICEDEV",
    ...parameters,
  };
  for (const [name, value] of Object.entries(all)) url.searchParams.set(name, value);
  return url.href;
}

/** Makes `postMessage` deliver a structured clone, as browsers do. */
export function installStructuredClone(): () => void {
  const original = window.postMessage;
  const post = original as (this: Window, message: unknown, targetOrigin: string) => void;
  window.postMessage = function (this: Window, message: unknown, targetOrigin: string) {
    post.call(this, structuredClone(message), targetOrigin);
  } as typeof window.postMessage;
  return () => {
    window.postMessage = original;
  };
}

export interface RecordedSend {
  readonly type: string;
  readonly encrypted: boolean;
  readonly messages: Record<string, Record<string, object>>;
}

/** A stock `WidgetDriver` that grants what `grant` says and records `sendToDevice` calls. */
export class RecordingDriver extends WidgetDriver {
  readonly sent: RecordedSend[] = [];
  grant: (requested: Set<Capability>) => Set<Capability> = (requested) => requested;
  /** Runs before `sendToDevice` settles: delay it, or throw to fail it. */
  beforeAnswer: () => Promise<void> = async () => {};

  override async validateCapabilities(requested: Set<Capability>): Promise<Set<Capability>> {
    return this.grant(requested);
  }

  override async sendToDevice(
    eventType: string,
    encrypted: boolean,
    contentMap: Record<string, Record<string, object>>,
  ): Promise<void> {
    this.sent.push({ type: eventType, encrypted, messages: contentMap });
    await this.beforeAnswer();
  }
}

export interface HostWindow {
  readonly host: ClientWidgetApi;
  readonly iframe: HTMLIFrameElement;
  /** Fires the iframe's `load`: a stock host then starts capability negotiation. */
  load(): void;
  stop(): void;
}

/**
 * Embeds the widget at `url` in a host built on stock `ClientWidgetApi`. `setup` runs before
 * the host starts listening, so a test can intercept actions the way a driver does.
 */
export function embedWidget(
  driver: WidgetDriver,
  url: string,
  setup: (host: ClientWidgetApi) => void = () => {},
): HostWindow {
  const definition: IWidget = {
    // Several widgets can share the page: each side filters by widget ID.
    id: new URL(url).searchParams.get("widgetId") ?? WIDGET_ID,
    creatorUserId: ALICE,
    type: "m.custom",
    url,
    waitForIframeLoad: true,
  };
  const iframe = document.createElement("iframe");
  // The page is its own parent (see the header): the iframe's window is the page's window.
  Object.defineProperty(iframe, "contentWindow", { value: window });
  const host = new ClientWidgetApi(new Widget(definition), iframe, driver);
  setup(host);
  return {
    host,
    iframe,
    load: () => iframe.dispatchEvent(new Event("load")),
    stop: () => host.stop(),
  };
}

/**
 * Silences matrix-widget-api's logging (a `console.log` per message, warnings when a test stops
 * a transport, the stock host's `console.error` for a failing driver); restored by restoreMocks.
 */
export function quietWidgetApiLogs(): void {
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation(() => {});
  }
}

/** Waits until `condition` holds, letting real postMessage deliveries run meanwhile. */
export async function until(condition: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

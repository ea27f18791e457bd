/**
 * The host's guard on a widget frame (docs/protocol.md §10), with a real matrix-widget-api
 * `ClientWidgetApi` listening on the same window: a message that claims the widget's ID but
 * comes from another window, or from the widget's window at another origin, never reaches it.
 * Absence is proven with a barrier: the genuine request sent after the forged one must arrive.
 */
import { ClientWidgetApi, type IWidgetApiRequest, Widget } from "matrix-widget-api";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BlockedWidgetMessage,
  guardWidgetFrame,
  validateToDeviceCapabilities,
} from "../src/index.js";
import { TestWidgetDriver, WIDGET_ORIGIN } from "./harness/widget-frame.js";

const VICTIM = "victim-widget";
const PROBE = "org.example.probe";

interface Host {
  readonly iframe: HTMLIFrameElement;
  readonly widgetWindow: object;
  /** requestIds of the probe requests the host's ClientWidgetApi acted on. */
  readonly seen: string[];
  stop(): void;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function host(): Host {
  // The widget's window: the host posts its requests here; nothing needs to answer in these tests.
  const widgetWindow = { postMessage: () => undefined };
  const iframe = {
    contentWindow: widgetWindow,
    addEventListener: () => undefined,
  } as unknown as HTMLIFrameElement;
  const api = new ClientWidgetApi(
    new Widget({
      id: VICTIM,
      creatorUserId: "@alice:example.org",
      type: "org.example.app",
      url: `${WIDGET_ORIGIN}/index.html`,
    }),
    iframe,
    new TestWidgetDriver((requested) => validateToDeviceCapabilities(requested, () => true)),
  );
  const seen: string[] = [];
  api.on(`action:${PROBE}`, (event: CustomEvent<IWidgetApiRequest>) => {
    event.preventDefault();
    seen.push(event.detail.requestId);
  });
  const stop = () => api.stop();
  cleanups.push(stop);
  return { iframe, widgetWindow, seen, stop };
}

function post(requestId: string, source: object, origin = WIDGET_ORIGIN, widgetId = VICTIM): void {
  globalThis.dispatchEvent(
    new MessageEvent("message", {
      data: { api: "fromWidget", widgetId, requestId, action: PROBE, data: {} },
      origin,
      source: source as Window,
    }),
  );
}

function guard(h: Host, origin?: string): BlockedWidgetMessage[] {
  const blocked: BlockedWidgetMessage[] = [];
  const dispose = guardWidgetFrame({
    widgetId: VICTIM,
    iframe: h.iframe,
    ...(origin === undefined ? {} : { origin }),
    onBlocked: (b) => blocked.push(b),
  });
  cleanups.push(dispose);
  return blocked;
}

const attackerWindow = { postMessage: () => undefined };

describe("guardWidgetFrame", () => {
  it("without a guard, matrix-widget-api acts on a request from any window that names the widget", () => {
    const h = host();
    post("forged", attackerWindow);
    expect(h.seen).toEqual(["forged"]);
  });

  it("stops a request that claims the widget's ID from another frame, and reports it", () => {
    const h = host();
    // Registered after the ClientWidgetApi, as a host adding it late would: capture runs first.
    const blocked = guard(h, WIDGET_ORIGIN);
    post("forged", attackerWindow);
    post("barrier", h.widgetWindow);
    expect(h.seen).toEqual(["barrier"]);
    expect(blocked).toEqual([
      {
        widgetId: VICTIM,
        reason: "foreign_source",
        origin: WIDGET_ORIGIN,
        data: expect.objectContaining({ requestId: "forged", action: PROBE }),
      },
    ]);
  });

  it("stops a message without a source window", () => {
    const h = host();
    const blocked = guard(h);
    globalThis.dispatchEvent(
      new MessageEvent("message", {
        data: { api: "fromWidget", widgetId: VICTIM, requestId: "forged", action: PROBE },
        origin: WIDGET_ORIGIN,
      }),
    );
    post("barrier", h.widgetWindow);
    expect(h.seen).toEqual(["barrier"]);
    expect(blocked.map((b) => b.reason)).toEqual(["foreign_source"]);
  });

  it("stops the widget's own window when it speaks from another origin than the widget's", () => {
    const h = host();
    const blocked = guard(h, WIDGET_ORIGIN);
    post("navigated", h.widgetWindow, "https://elsewhere.example");
    post("barrier", h.widgetWindow);
    expect(h.seen).toEqual(["barrier"]);
    expect(blocked).toEqual([
      expect.objectContaining({ reason: "foreign_origin", origin: "https://elsewhere.example" }),
    ]);
  });

  it("lets through what names other widgets, and every origin when none is given", () => {
    const h = host();
    const blocked = guard(h);
    post("other-widget", attackerWindow, WIDGET_ORIGIN, "someone-else");
    post("any-origin", h.widgetWindow, "null");
    expect(h.seen).toEqual(["any-origin"]);
    expect(blocked).toEqual([]);
  });

  it("stops guarding once disposed", () => {
    const h = host();
    const blocked: BlockedWidgetMessage[] = [];
    const dispose = guardWidgetFrame({
      widgetId: VICTIM,
      iframe: h.iframe,
      onBlocked: (b) => blocked.push(b),
    });
    dispose();
    post("after-dispose", attackerWindow);
    expect(h.seen).toEqual(["after-dispose"]);
    expect(blocked).toEqual([]);
  });
});

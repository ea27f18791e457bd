/**
 * The driver's answer to `send_to_device` carries the request's envelope (api, widgetId,
 * requestId, action) and the response, never the request's `data` back: matrix-widget-api's
 * `reply` spreads the whole request, so a 1 MiB request would be cloned back to the widget, and
 * a hostile one would make the host copy what it already refused.
 */
import { WidgetApiFromWidgetAction } from "matrix-widget-api";
import { describe, expect, it } from "vitest";
import { BOB, createWorld, PING, send } from "./harness/world.js";

describe("the answer to send_to_device", () => {
  it.each([
    ["delivered", { type: PING, recipient_devices: { [BOB]: ["BOBDEV"] }, content: { n: 1 } }],
    ["refused", { type: PING, recipient_devices: { [BOB]: ["BOBDEV"] }, content: { scope: 1 } }],
  ])("%s: does not echo the request's data", async (_outcome, data) => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomEncrypted: false },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    // Every postMessage of the page lands on the global window: keep the answers.
    const answers: Array<Record<string, unknown>> = [];
    const record = (event: Event) => {
      const message = (event as MessageEvent).data as Record<string, unknown>;
      if (message.api === "fromWidget" && message.response !== undefined) answers.push(message);
    };
    globalThis.addEventListener("message", record);
    try {
      await frame.widgetApi.transport
        .sendComplete(WidgetApiFromWidgetAction.SendToDevice, data as never)
        .catch(() => undefined);
    } finally {
      globalThis.removeEventListener("message", record);
    }
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ action: "send_to_device", widgetId: expect.any(String) });
    expect(answers[0]?.data).toEqual({});
  });
});

/**
 * The README's "Testing your widget" example (examples/testing.ts), run as written: a real
 * matrix-widget-api widget (WidgetApi) and host (ClientWidgetApi) over postMessage, the
 * in-memory homeserver from the testing entry. The package's own names are resolved to its
 * sources, so the example runs against the code under test rather than a stale build.
 */
import { afterEach, expect, it, vi } from "vitest";
import { ApprovingWidgetDriver, BOB, createTestHost, type TestHost } from "../examples/testing.js";
import { WidgetFrame } from "./harness/widget-frame.js";
import { receive, send } from "./harness/world.js";

vi.mock("@widget-todevice/driver", () => import("../src/index.js"));
vi.mock("@widget-todevice/driver/testing", () => import("../src/testing.js"));

const PING = "org.example.ping";
const PONG = "org.example.pong";
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function widgetWithHost(): { frame: WidgetFrame; host: TestHost } {
  const approving = new ApprovingWidgetDriver();
  const frame = new WidgetFrame({
    capabilities: [send(PING), receive(PONG), send("m.room_key")],
    grant: (requested) => approving.validateCapabilities(requested),
  });
  const host = createTestHost(frame.clientApi);
  cleanups.push(() => {
    host.stop();
    frame.stop();
  });
  return { frame, host };
}

it("carries the widget's encrypted send to Bob's device, and Bob's answer to the widget", async () => {
  const { frame, host } = widgetWithHost();
  await frame.load();
  await host.attachment.negotiated;

  await frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { n: 1 } } });
  await vi.waitFor(() => expect(host.bob.received).toHaveLength(1));
  expect(host.bob.received[0]?.message).toMatchObject({ type: PING, content: { n: 1 } });
  expect(host.bob.received[0]?.encryptionInfo).toMatchObject({ senderDevice: "ALICEDEV" });
  expect(host.homeserver.sendLog.map((r) => r.eventType)).toEqual(["m.room.encrypted"]);

  await host.sendFromBob(PONG, { n: 2 });
  await vi.waitFor(() => expect(frame.received).toHaveLength(1));
  expect(frame.received[0]).toMatchObject({ type: PONG, sender: BOB, content: { n: 2 } });
});

it("approves no reserved type, as the real host must not", async () => {
  const { frame, host } = widgetWithHost();
  await frame.load();
  await host.attachment.negotiated;
  expect(frame.clientApi.hasCapability(send(PING))).toBe(true);
  expect(frame.clientApi.hasCapability(send("m.room_key"))).toBe(false);
});

// A stock matrix-widget-api widget gives up on any request after 10 s (PostmessageTransport's
// `timeoutSeconds`), while the driver may retry a send for up to 30 s (`DEFAULT_RETRY_OPTIONS`).
// Fake timers stand for the homeserver's Retry-After waits and the widget's timeout.
import { DEFAULT_RETRY_OPTIONS } from "@widget-todevice/driver";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { Frame } from "./support/frame.js";
import { ToDeviceOnlyHost } from "./support/hosts.js";
import { startStockWidget } from "./support/stock-widget.js";
import { BOB, CAROL, createWorld, eventually } from "./support/world.js";

const PING = "org.example.ping";
const BARRIER = "org.example.barrier";

beforeEach(() => {
  // Not setImmediate: `eventually` and the frames' microtasks keep running.
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** How many answers to `send_to_device` the host posted to the widget so far. */
const answers = (frame: Frame) =>
  frame.toWidget.filter((message) => {
    const m = message as { api?: string; action?: string; response?: unknown };
    return m.api === "fromWidget" && m.action === "send_to_device" && m.response !== undefined;
  }).length;

// Without the driver's answer deadline the send was retried after the widget's 10 s timeout and
// delivered at about 12 s: the widget was told "Request timed out", yet Bob got the message.
it("a stock widget never receives an answer after its 10 s timeout, and nothing is sent for a request after its answer", async () => {
  const world = createWorld();
  const bob = world.device(BOB, "BOBDEV");
  const carol = world.device(CAROL, "CAROLDEV", { retry: DEFAULT_RETRY_OPTIONS });
  const { frame, attachment } = carol.open(new ToDeviceOnlyHost());
  await startStockWidget(frame, [PING, BARRIER]);
  await attachment.negotiated;
  world.homeserver.failNextSends(
    { kind: "rate_limited", retryAfterMs: 6_000 },
    { kind: "rate_limited", retryAfterMs: 6_000 },
  );

  const sending = frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { n: 1 } } }).then(
    () => "answered",
    (error: Error) => error.message,
  );
  await vi.advanceTimersByTimeAsync(10_000);
  // Answered before the widget's timeout, and truthfully: nothing was delivered.
  const answer = await sending;
  expect(answer).not.toBe("Request timed out");
  expect(answer).not.toBe("answered");
  const answersAtTimeout = answers(frame);

  // Past every bound of the driver's retries; then a barrier that must arrive.
  await vi.advanceTimersByTimeAsync(DEFAULT_RETRY_OPTIONS.deadlineMs);
  const barrier = frame.widgetApi.sendToDevice(BARRIER, true, { [BOB]: { BOBDEV: {} } });
  await vi.advanceTimersByTimeAsync(1_000);
  await barrier;
  await eventually(() => bob.transport.received.length > 0, "the barrier");

  expect(answers(frame)).toBe(answersAtTimeout + 1); // the barrier's answer only
  expect(bob.transport.received.map((r) => r.message.type)).toEqual([BARRIER]);
});

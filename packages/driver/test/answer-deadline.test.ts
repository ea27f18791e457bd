/**
 * Section 6's answer deadline: every widget is answered within its own deadline (a stock
 * matrix-widget-api widget gives up after 10 s, the widget package after 60 s), nothing of a
 * send leaves after its answer, and a request whose answer was lost is reported
 * `outcome_unknown`. Fake timers drive the in-memory homeserver's faults; absence is proven
 * with a barrier message sent afterwards.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ToDeviceDeliveryError } from "../src/index.js";
import type { WidgetFrame } from "./harness/widget-frame.js";
import { BOB, createWorld, PING, send, settle, type World } from "./harness/world.js";

afterEach(() => {
  vi.useRealTimers();
});

/** A promise whose outcome can be read without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A stock widget's send: `WidgetApi.sendToDevice`, legacy format, 10 s timeout. */
const stockSend = (frame: WidgetFrame, content: Record<string, unknown>) =>
  track(frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: content } }));

/** The message and failures of the widget's `WidgetApiResponseError`. */
const errorData = (error: unknown) => {
  const { message, data } = error as { message?: string; data?: { failures?: unknown } };
  return { message, failures: data?.failures };
};

/** Sends a barrier after the homeserver has had plenty of time, and waits for it to arrive. */
async function barrier(world: World, frame: WidgetFrame): Promise<void> {
  await vi.advanceTimersByTimeAsync(120_000);
  const sent = stockSend(frame, { barrier: true });
  await vi.advanceTimersByTimeAsync(1_000);
  await settle();
  expect(sent.settled && sent.error === undefined).toBe(true);
  expect(world.bob.received.at(-1)?.message.content).toEqual({ barrier: true });
}

const contents = (world: World) => world.bob.received.map((r) => r.message.content);

async function stockWidget(world: World) {
  const { frame } = await world.widget({}, { capabilities: [send(PING)] });
  vi.useFakeTimers();
  return frame;
}

describe("a stock widget (10 s timeout)", () => {
  it("is answered before its timeout when a 429 asks for a long wait, and the send stops", async () => {
    const world = createWorld();
    const frame = await stockWidget(world);
    world.homeserver.failNextSends(
      { kind: "rate_limited", retryAfterMs: 5_000 },
      { kind: "rate_limited", retryAfterMs: 5_000 },
    );
    const sent = stockSend(frame, { n: 1 });
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sent.settled).toBe(true);
    expect(errorData(sent.error)?.failures).toEqual({ [BOB]: { BOBDEV: "http_429" } });

    await barrier(world, frame);
    expect(contents(world)).toEqual([{ barrier: true }]);
    // Two refused attempts, then only the barrier's request.
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([429, 429, 200]);
  });

  it("is answered before its timeout when 5xx back-offs would run past it", async () => {
    const world = createWorld({ retry: { initialBackoffMs: 4_000, maxBackoffMs: 8_000 } });
    const frame = await stockWidget(world);
    world.homeserver.failNextSends(
      { kind: "http_error", status: 502 },
      { kind: "http_error", status: 502 },
    );
    const sent = stockSend(frame, { n: 1 });
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sent.settled).toBe(true);
    expect(errorData(sent.error)?.failures).toEqual({ [BOB]: { BOBDEV: "http_502" } });

    await barrier(world, frame);
    expect(contents(world)).toEqual([{ barrier: true }]);
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([502, 502, 200]);
  });

  it("hears `outcome_unknown` for a request still in flight, and a queued send never leaves", async () => {
    const world = createWorld();
    const frame = await stockWidget(world);
    world.homeserver.failNextSends({ kind: "slow", delayMs: 20_000 });
    const first = stockSend(frame, { n: 1 });
    // Same recipient: waits in the lane behind the slow request.
    const second = stockSend(frame, { n: 2 });
    await vi.advanceTimersByTimeAsync(9_000);
    expect(first.settled && second.settled).toBe(true);
    expect(errorData(first.error)?.message).toMatch(/outcome is unknown/);
    expect(errorData(first.error)?.failures).toEqual({ [BOB]: { BOBDEV: "outcome_unknown" } });
    expect(errorData(second.error)?.message).toMatch(/deadline/);
    expect(errorData(second.error)?.failures).toEqual({ [BOB]: { BOBDEV: "deadline" } });

    await barrier(world, frame);
    // The slow request was accepted late (its outcome was unknown); the queued one never left.
    expect(contents(world)).toEqual([{ n: 1 }, { barrier: true }]);
    expect(world.homeserver.sendLog).toHaveLength(2);
  });

  it("hears `outcome_unknown` when the homeserver delivered but the answer was lost", async () => {
    const world = createWorld({ retry: { maxAttempts: 1 } });
    const frame = await stockWidget(world);
    world.homeserver.failNextSends({ kind: "connection_dropped", afterDelivery: true });
    const sent = stockSend(frame, { n: 1 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.settled).toBe(true);
    expect(errorData(sent.error)?.message).toMatch(/may have been delivered/);
    expect(errorData(sent.error)?.failures).toEqual({ [BOB]: { BOBDEV: "outcome_unknown" } });

    await barrier(world, frame);
    expect(contents(world)).toEqual([{ n: 1 }, { barrier: true }]);
  });

  it("is answered `deadline` when a device list lookup outlasts the deadline, and nothing leaves", async () => {
    const world = createWorld();
    const frame = await stockWidget(world);
    // Bob is not tracked yet: the send's key query takes 20 s.
    world.homeserver.keyQueryDelayMs = 20_000;
    const sent = stockSend(frame, { n: 1 });
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sent.settled).toBe(true);
    expect(errorData(sent.error)?.message).toMatch(/answer deadline of 8000 ms passed/);
    expect(errorData(sent.error)?.failures).toEqual({ [BOB]: { BOBDEV: "deadline" } });

    await barrier(world, frame);
    expect(contents(world)).toEqual([{ barrier: true }]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });

  it("reports the chunk in flight `outcome_unknown` and the chunk not started `deadline`", async () => {
    const world = createWorld({
      chunkLimits: { maxMessagesPerRequest: 1 },
      maxConcurrentRequests: 1,
    });
    world.homeserver.addDevice(BOB, "BOBDEV2");
    const frame = await stockWidget(world);
    world.homeserver.failNextSends({ kind: "slow", delayMs: 20_000 });
    const sent = track(
      frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { n: 1 }, BOBDEV2: { n: 1 } } }),
    );
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sent.settled).toBe(true);
    expect(errorData(sent.error)?.failures).toEqual({
      [BOB]: { BOBDEV: "outcome_unknown", BOBDEV2: "deadline" },
    });

    await barrier(world, frame);
    // The request in flight was accepted late; the chunk not started never left.
    expect(world.homeserver.sendLog.map((r) => r.messageCount)).toEqual([1, 1]);
    expect(contents(world)).toEqual([{ n: 1 }, { barrier: true }]);
  });

  it("forWidgetDriver answers within the stock deadline", async () => {
    const world = createWorld();
    const sendToDevice = world.driver.forWidgetDriver({
      roomId: "!r1:example.org",
      roomEncrypted: true,
      widgetType: "x",
    });
    vi.useFakeTimers();
    world.homeserver.failNextSends({ kind: "slow", delayMs: 20_000 });
    const sent = track(sendToDevice(PING, true, { [BOB]: { BOBDEV: { n: 1 } } }));
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sent.settled).toBe(true);
    expect(sent.error).toBeInstanceOf(ToDeviceDeliveryError);
    expect((sent.error as ToDeviceDeliveryError).failures).toEqual({
      [BOB]: { BOBDEV: "outcome_unknown" },
    });
  });
});

describe("a widget that speaks a newer format (60 s timeout)", () => {
  const toBob = (content: Record<string, unknown>) => ({
    type: PING,
    recipient_devices: { [BOB]: ["BOBDEV"] },
    content,
  });

  it.each([
    ["advertised it", { capabilities: [send(PING)], advertisesFormats: true }],
    ["only used it", { capabilities: [send(PING)] }],
  ])(
    "that %s keeps the 60 s contract: waited for past 10 s, answered before 60 s",
    async (_name, options) => {
      const world = createWorld();
      const { frame } = await world.widget({}, options);
      // What the widget package sets: it waits 60 s.
      frame.widgetApi.transport.timeoutSeconds = 60;
      vi.useFakeTimers();

      world.homeserver.failNextSends({ kind: "slow", delayMs: 30_000 });
      const accepted = track(frame.send(toBob({ n: 1 })));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(accepted.value).toEqual({ ok: true, response: {} });

      world.homeserver.failNextSends({ kind: "slow", delayMs: 70_000 });
      const slow = track(frame.send(toBob({ n: 2 })));
      const queued = track(frame.send(toBob({ n: 3 })));
      await vi.advanceTimersByTimeAsync(59_000);
      expect(slow.value).toMatchObject({
        ok: false,
        data: { failures: { [BOB]: { BOBDEV: "outcome_unknown" } } },
      });
      expect(queued.value).toMatchObject({
        ok: false,
        data: { failures: { [BOB]: { BOBDEV: "deadline" } } },
      });

      await barrier(world, frame);
      expect(contents(world)).toEqual([{ n: 1 }, { n: 2 }, { barrier: true }]);
    },
  );
});

describe("answerDeadlineMs", () => {
  it("longer than a timer can wait means no deadline, not an immediate one", async () => {
    const world = createWorld({ answerDeadlineMs: { negotiated: Number.POSITIVE_INFINITY } });
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends({ kind: "slow", delayMs: 50 });
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: { n: 1 },
    });
    expect(reply).toEqual({ ok: true, response: {} });
  });
});

/**
 * Section 6 against the in-memory homeserver told to misbehave: retries under stable
 * transaction IDs, chunking, per-device order, the per-message cap, and the answer only after
 * acceptance. Real matrix-widget-api objects on both sides; no fakes.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BARRIER,
  BOB,
  CAROL,
  contentsReceived,
  createWorld,
  PING,
  send,
  sendBarrier,
  settle,
} from "./harness/world.js";

afterEach(() => {
  vi.useRealTimers();
});

const toBob = (content: Record<string, unknown>) => ({
  type: PING,
  recipient_devices: { [BOB]: ["BOBDEV"] },
  content,
});

describe("retries", () => {
  it.each([
    ["500", { kind: "http_error", status: 500 } as const],
    ["502", { kind: "http_error", status: 502 } as const],
    ["a dropped connection before processing", { kind: "connection_dropped" } as const],
    [
      "a dropped connection after processing",
      { kind: "connection_dropped", afterDelivery: true } as const,
    ],
    ["429", { kind: "rate_limited", retryAfterMs: 5 } as const],
  ])("after %s, delivers exactly once", async (_name, fault) => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends(fault, fault);
    const reply = await frame.send(toBob({ n: 1 }));
    await settle();
    expect(reply).toEqual({ ok: true, response: {} });
    expect(world.bob.received).toHaveLength(1);
    const log = world.homeserver.sendLog;
    expect(log).toHaveLength(3);
    expect(new Set(log.map((r) => r.txnId)).size).toBe(1);
    expect(log.filter((r) => r.delivered)).toHaveLength(1);
  });

  it("reports a failure when the retries are exhausted, with matrix_api_error", async () => {
    const world = createWorld({ retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } });
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends(
      ...Array.from({ length: 3 }, () => ({ kind: "http_error", status: 503 }) as const),
    );
    const reply = await frame.send(toBob({ n: 1 }));
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.message).toMatch(
      /^Error sending event: no device received the message \(http_503: 1\)/,
    );
    expect(reply.data.failures).toEqual({ [BOB]: { BOBDEV: "http_503" } });
    expect(reply.data.matrix_api_error).toMatchObject({
      http_status: 503,
      response: { errcode: "M_UNKNOWN" },
    });
    expect(world.homeserver.sendLog).toHaveLength(3);
    await sendBarrier(world, frame);
    expect(contentsReceived(world.bob)).toEqual([BARRIER]);
  });

  it("does not retry a 4xx other than 429", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends({ kind: "http_error", status: 403, errcode: "M_FORBIDDEN" });
    const reply = await frame.send(toBob({}));
    expect(reply.ok).toBe(false);
    if (!reply.ok)
      expect(reply.data.matrix_api_error).toMatchObject({
        http_status: 403,
        response: { errcode: "M_FORBIDDEN" },
      });
    expect(world.homeserver.sendLog).toHaveLength(1);
  });

  it("reports a 429 that asks to wait longer than the limit at once", async () => {
    const world = createWorld({ retry: { maxRetryAfterMs: 100 } });
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends({ kind: "rate_limited", retryAfterMs: 60_000 });
    const reply = await frame.send(toBob({}));
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.data.failures).toEqual({ [BOB]: { BOBDEV: "http_429" } });
  });

  it("answers only after a slow homeserver accepted", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends({ kind: "slow", delayMs: 40 });
    // What the homeserver had answered at the moment the widget got its reply: the slow
    // request is logged only once it is accepted, so an early reply would see an empty log.
    const outcomesAtReply = await frame
      .send(toBob({}))
      .then((reply) => ({ reply, outcomes: world.homeserver.sendLog.map((r) => r.outcome) }));
    expect(outcomesAtReply.reply.ok).toBe(true);
    expect(outcomesAtReply.outcomes).toEqual([200]);
  });
});

describe("chunks fail and succeed independently", () => {
  it("reports the devices of the failed chunk and delivers the rest", async () => {
    const world = createWorld({
      chunkLimits: { maxMessagesPerRequest: 2 },
      maxConcurrentRequests: 1,
      retry: { maxAttempts: 1 },
    });
    const carols = ["C0", "C1", "C2", "C3"].map((id) => world.homeserver.addDevice(CAROL, id));
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends({ kind: "http_error", status: 500 });
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [CAROL]: ["*"] },
      content: {},
    });
    await settle();
    expect(reply).toEqual({
      ok: true,
      response: { failures: { [CAROL]: { C0: "http_500", C1: "http_500" } } },
    });
    expect(carols.map((c) => c.received.length)).toEqual([0, 0, 1, 1]);
  });
});

describe("the per-message cap", () => {
  it("reports an oversized ciphertext as too_large and still sends the others", async () => {
    const world = createWorld({ maxMessageBytes: 4_000 });
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [BOB]: { BOBDEV: { small: 1 } }, [CAROL]: {} },
    });
    expect(reply.ok).toBe(false); // Carol names no devices
    world.homeserver.addDevice(CAROL, "CAROLDEV");
    const mixed = await frame.send({
      type: PING,
      encrypted: true,
      // Under the cap in cleartext, over it once encrypted and base64-encoded.
      messages: {
        [BOB]: { BOBDEV: { small: 1 } },
        [CAROL]: { CAROLDEV: { big: "x".repeat(3_500) } },
      },
    });
    await settle();
    expect(mixed).toEqual({
      ok: true,
      response: { failures: { [CAROL]: { CAROLDEV: "too_large" } } },
    });
    expect(world.bob.received).toHaveLength(1);
    expect(world.homeserver.sendLog.every((r) => r.outcome === 200)).toBe(true);
  });

  it("uses Synapse's 65,536 bytes by default", async () => {
    const world = createWorld();
    const { frame } = await world.widget({ roomEncrypted: false }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [BOB]: { BOBDEV: { big: "x".repeat(65_600) } } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.data.failures).toEqual({ [BOB]: { BOBDEV: "too_large" } });
    await sendBarrier(world, frame);
    expect(contentsReceived(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });
});

describe("ordering", () => {
  it("keeps a widget's messages to one device in order while an earlier send retries", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    world.homeserver.failNextSends(
      { kind: "rate_limited", retryAfterMs: 30 },
      { kind: "http_error", status: 500 },
    );
    const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => frame.send(toBob({ n }))));
    await settle();
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(world.bob.received.map((r) => (r.message.content as { n: number }).n)).toEqual([
      1, 2, 3, 4, 5,
    ]);
  });

  it("does not hold up sends to other users", async () => {
    const world = createWorld();
    const carol = world.homeserver.addDevice(CAROL, "CAROLDEV");
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    // Fake time stands still: Bob's slow request is accepted only when the test says so.
    vi.useFakeTimers();
    world.homeserver.failNextSends({ kind: "slow", delayMs: 200 });
    const toBobReply = frame.send(toBob({ n: 1 }));
    const toCarol = await frame.send({
      type: PING,
      recipient_devices: { [CAROL]: ["CAROLDEV"] },
      content: {},
    });
    expect(toCarol.ok).toBe(true);
    expect(carol.received).toHaveLength(1);
    expect(world.bob.received).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect((await toBobReply).ok).toBe(true);
    expect(world.bob.received).toHaveLength(1);
  });
});

describe("encryption failures", () => {
  it("reports no_olm_session and withheld per device", async () => {
    const world = createWorld();
    world.homeserver.addDevice(CAROL, "NOKEYS", { hasOneTimeKeys: false });
    world.homeserver.addDevice(CAROL, "BLOCKED");
    world.alice.blockDevice(CAROL, "BLOCKED");
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"], [CAROL]: ["*"] },
      content: {},
    });
    expect(reply).toEqual({
      ok: true,
      response: { failures: { [CAROL]: { NOKEYS: "no_olm_session", BLOCKED: "withheld" } } },
    });
  });

  it("bounds a slow key query", async () => {
    const world = createWorld({ deviceListTimeoutMs: 20 });
    world.homeserver.keyQueryDelayMs = 1_000;
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send(toBob({}));
    expect(reply.ok).toBe(false);
    if (!reply.ok)
      expect(reply.data.failures).toEqual({ [BOB]: { BOBDEV: "device_list_timeout" } });
  });
});

describe("detaching", () => {
  it("stops retries and answers nothing more through the driver", async () => {
    const world = createWorld({ retry: { initialBackoffMs: 1_000, maxBackoffMs: 1_000 } });
    const { frame, attachment } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    vi.useFakeTimers();
    world.homeserver.failNextSends({ kind: "http_error", status: 500 });
    const pending = frame.send(toBob({}));
    // The first attempt has failed and the retry waits its 1 s backoff.
    await vi.waitUntil(() => world.homeserver.sendLog.length === 1);
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([500]);
    let reply: Awaited<typeof pending> | undefined;
    void pending.then((answer) => {
      reply = answer;
    });
    attachment.detach();
    // Past the backoff and inside the widget's 10 s: a retry that ignored the detach would be
    // logged by now.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(world.homeserver.sendLog).toHaveLength(1);
    expect(reply).toMatchObject({ ok: false, message: expect.stringMatching(/detached/) });
    // The stock handler answers now: the driver no longer intercepts.
    const after = await frame.send(toBob({}));
    expect(after.ok).toBe(false);
    if (!after.ok) expect(after.message).toMatch(/^Invalid request - missing event contents$/);
  });
});

/**
 * The router's memory bounds (docs/protocol.md §7): de-duplication memory in bytes, and a
 * pre-negotiation buffer that is bounded in messages and bytes and fair between senders. These
 * use FAKES: a fake `RouterWidget` that records deliveries, messages passed straight to
 * `receive`. Property tests honour `FC_SEED` (fast-check prints the seed of a failure).
 */
import type { ToWidgetMessage } from "@widget-todevice/codec";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { DuplicateFilter, MAX_MSGID_LENGTH } from "../src/duplicate-filter.js";
import {
  DEFAULT_DEDUP_MAX_BYTES,
  DEFAULT_PRE_NEGOTIATION,
  type ReceivedToDeviceMessage,
} from "../src/index.js";
import { type RouterWidget, ToDeviceRouter } from "../src/to-device-router.js";
import { createWorld, RecordingLogger } from "./harness/world.js";

const PING = "org.example.ping";
const seeded = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

interface FakeWidget extends RouterWidget {
  readonly got: ToWidgetMessage[];
}

function fakeWidget(): FakeWidget {
  const got: ToWidgetMessage[] = [];
  return {
    id: "fake",
    roomId: "!r1:example.org",
    isRoomEncrypted: () => false,
    canReceive: (type) => type === PING,
    deliver: async (message) => {
      got.push(message);
    },
    got,
  };
}

const from = (
  sender: string,
  content: Record<string, unknown>,
  type = PING,
): ReceivedToDeviceMessage => ({ message: { type, sender, content }, encryptionInfo: null });

const ALICE = "@alice:example.org";
const MALLORY = "@mallory:example.org";

describe("de-duplication memory", () => {
  it("1,000 messages with the longest msgids keep at most dedupMaxBytes", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    const long = "x".repeat(MAX_MSGID_LENGTH - 3);
    for (let i = 0; i < 1_000; i++)
      router.receive(from(ALICE, { "org.matrix.msgid": `${long}${String(i).padStart(3, "0")}` }));
    expect(widget.got).toHaveLength(1_000);
    const { retained } = route.stats;
    expect(retained.dedupEntries).toBeGreaterThan(0);
    expect(retained.dedupBytes).toBeLessThanOrEqual(DEFAULT_DEDUP_MAX_BYTES);
    expect(retained.retainedBytes).toBe(retained.dedupBytes + retained.bufferedBytes);
    // The newest msgid is still remembered, whole: a copy is a duplicate...
    router.receive(from(ALICE, { "org.matrix.msgid": `${long}999` }));
    expect(route.stats.dropped.duplicate).toBe(1);
    // ...and one that differs in its last character is not.
    router.receive(from(ALICE, { "org.matrix.msgid": `${long}99x` }));
    expect(widget.got).toHaveLength(1_001);
  });

  it("does not hash or remember a msgid longer than MAX_MSGID_LENGTH: its copies are delivered", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    const keyOf = vi.spyOn(DuplicateFilter, "keyOf");
    const huge = "x".repeat(60_000);
    for (let i = 0; i < 3; i++) router.receive(from(ALICE, { "org.matrix.msgid": huge }));
    expect(keyOf).not.toHaveBeenCalled();
    keyOf.mockRestore();
    expect(widget.got).toHaveLength(3);
    expect(route.stats.retained.dedupEntries).toBe(0);
  });

  it("forgets the oldest msgids once dedupMaxBytes is reached", () => {
    const router = new ToDeviceRouter({ dedupMaxBytes: 1_000, logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    for (let i = 0; i < 50; i++) router.receive(from(ALICE, { "org.matrix.msgid": `m${i}` }));
    const { dedupEntries, dedupBytes } = route.stats.retained;
    expect(dedupBytes).toBeLessThanOrEqual(1_000);
    expect(dedupEntries).toBeGreaterThan(0);
    expect(dedupEntries).toBeLessThan(50);
    router.receive(from(ALICE, { "org.matrix.msgid": "m49" })); // remembered: dropped
    router.receive(from(ALICE, { "org.matrix.msgid": "m0" })); // forgotten: delivered again
    expect(route.stats.dropped.duplicate).toBe(1);
    expect(widget.got).toHaveLength(51);
  });

  it("a msgid is a duplicate only for the same sender and type, however the parts are spelled", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = { ...fakeWidget(), canReceive: () => true };
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    // Joined with a separator, these two would be the same key.
    router.receive(from(ALICE, { "org.matrix.msgid": "m\nn" }, "org.example.a"));
    router.receive(from(ALICE, { "org.matrix.msgid": "n" }, "org.example.a\nm"));
    router.receive(from(MALLORY, { "org.matrix.msgid": "m\nn" }, "org.example.a"));
    expect(route.stats.dropped.duplicate).toBe(0);
    expect(widget.got).toHaveLength(3);
  });

  it("each widget remembers the msgids it was given", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const first = fakeWidget();
    const second = fakeWidget();
    router.addWidget(first).negotiated(["legacy"]);
    router.receive(from(ALICE, { "org.matrix.msgid": "m1" }));
    const late = router.addWidget(second);
    late.negotiated(["legacy"]);
    router.receive(from(ALICE, { "org.matrix.msgid": "m1" }));
    expect(first.got).toHaveLength(1);
    expect(second.got).toHaveLength(1);
    expect(late.stats.dropped.duplicate).toBe(0);
  });
});

describe("before negotiation: bounded and fair per sender", () => {
  it("100 messages of another type from one account do not push out another sender's message", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    router.receive(from(ALICE, { key: "legitimate" }));
    for (let n = 0; n < 100; n++) router.receive(from(MALLORY, { n }, "org.example.noise"));
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => [m.sender, m.content])).toEqual([[ALICE, { key: "legitimate" }]]);
  });

  it("a sender over its quota drops its own oldest messages", () => {
    const logger = new RecordingLogger();
    const router = new ToDeviceRouter({
      logger,
      preNegotiation: { maxMessagesPerSender: 2 },
    });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    router.receive(from(ALICE, { n: 1 }));
    for (const n of [1, 2, 3, 4]) router.receive(from(MALLORY, { n }));
    router.receive(from(ALICE, { n: 2 }));
    expect(route.stats.retained.bufferedMessages).toBe(4);
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => [m.sender, m.content])).toEqual([
      [ALICE, { n: 1 }],
      [MALLORY, { n: 3 }],
      [MALLORY, { n: 4 }],
      [ALICE, { n: 2 }],
    ]);
    expect(route.stats.dropped.not_negotiated).toBe(2);
    expect(logger.lines.join("\n")).toContain(MALLORY);
  });

  it("is bounded in bytes: 100 messages of 60 KB keep at most maxBytes", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const route = router.addWidget(fakeWidget());
    const big = "x".repeat(60_000);
    for (let n = 0; n < 100; n++) router.receive(from(`@u${n % 10}:example.org`, { n, big }));
    const { bufferedBytes, bufferedMessages } = route.stats.retained;
    expect(bufferedBytes).toBeGreaterThan(0);
    expect(bufferedBytes).toBeLessThanOrEqual(DEFAULT_PRE_NEGOTIATION.maxBytes);
    expect(route.stats.dropped.not_negotiated).toBe(100 - bufferedMessages);
  });

  it("a message larger than a sender's byte quota is dropped, and counted", () => {
    const router = new ToDeviceRouter({
      logger: new RecordingLogger(),
      preNegotiation: { maxBytesPerSender: 1_000 },
    });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    router.receive(from(ALICE, { small: 1 }));
    router.receive(from(ALICE, { big: "x".repeat(2_000) }));
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => m.content)).toEqual([{ small: 1 }]);
    expect(route.stats.dropped.not_negotiated).toBe(1);
    expect(route.stats.retained.bufferedBytes).toBe(0);
  });

  it("keeps every message of senders within their fair share, whatever one other sender sends", () => {
    const limits = {
      maxMessages: 12,
      maxBytes: 6_000,
      maxMessagesPerSender: 5,
      maxBytesPerSender: 3_000,
    };
    const honestSenders = ["@h0:example.org", "@h1:example.org", "@h2:example.org"];
    // Each honest sender sends at most a quarter of the buffer, in messages and in bytes.
    const honestMessage = fc.record({
      sender: fc.constantFrom(...honestSenders),
      size: fc.integer({ min: 1, max: 400 }),
    });
    const flood = fc.record({
      sender: fc.constant(MALLORY),
      size: fc.integer({ min: 1, max: 2_900 }),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(honestMessage, flood), { maxLength: 80 }), (arrivals) => {
        const router = new ToDeviceRouter({
          logger: new RecordingLogger(),
          preNegotiation: limits,
        });
        const widget = fakeWidget();
        const route = router.addWidget(widget);
        const sent = new Map<string, number>();
        const honest: string[] = [];
        arrivals.forEach(({ sender, size }, i) => {
          const count = sent.get(sender) ?? 0;
          const isHonest = sender !== MALLORY;
          if (isHonest && count >= 3) return; // 3 messages of <= 400 bytes: within the share
          sent.set(sender, count + 1);
          if (isHonest) honest.push(`${i}`);
          router.receive(from(sender, { i: `${i}`, pad: "x".repeat(size) }));
          const retained = route.stats.retained;
          expect(retained.bufferedMessages).toBeLessThanOrEqual(limits.maxMessages);
          expect(retained.bufferedBytes).toBeLessThanOrEqual(limits.maxBytes);
        });
        route.negotiated(["legacy"]);
        const delivered = widget.got.map((m) => (m.content as { i: string }).i);
        for (const i of honest) expect(delivered).toContain(i);
        // Arrival order is kept.
        expect(delivered.map(Number)).toEqual([...delivered.map(Number)].sort((a, b) => a - b));
      }),
      seeded,
    );
  });

  it("retainedBytes of the router sums its widgets", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const waiting = router.addWidget(fakeWidget());
    const open = router.addWidget(fakeWidget());
    open.negotiated(["legacy"]);
    router.receive(from(ALICE, { "org.matrix.msgid": "m1" }));
    expect(waiting.stats.retained.bufferedMessages).toBe(1);
    expect(open.stats.retained.dedupEntries).toBe(1);
    expect(router.retainedBytes).toBe(
      waiting.stats.retained.retainedBytes + open.stats.retained.retainedBytes,
    );
    waiting.remove();
    expect(waiting.stats.retained.retainedBytes).toBe(0);
    expect(router.retainedBytes).toBe(open.stats.retained.retainedBytes);
  });
});

describe("what the driver holds for incoming messages", () => {
  it("is the sum of its widgets' retained bytes, and nothing once they are detached", async () => {
    const world = createWorld();
    const waiting = world.unloadedWidget({ roomEncrypted: false });
    const content = { "org.matrix.msgid": "m1", n: 1 };
    await world.bob.sendToDevice(PING, [{ userId: ALICE, deviceId: "ALICEDEV", content }], "t1");
    await vi.waitFor(() => expect(waiting.attachment.stats.retained.bufferedMessages).toBe(1));
    expect(world.driver.retainedBytes).toBeGreaterThan(0);
    expect(world.driver.retainedBytes).toBe(waiting.attachment.stats.retained.retainedBytes);
    waiting.attachment.detach();
    expect(world.driver.retainedBytes).toBe(0);
  });
});

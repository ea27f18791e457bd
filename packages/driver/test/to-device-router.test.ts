/**
 * ToDeviceRouter unit tests. These use FAKES: a fake `RouterWidget` that records deliveries,
 * messages passed straight to `receive`, and vitest fake timers for the pre-negotiation buffer.
 * The same router is exercised with real matrix-widget-api objects in conformance.test.ts.
 */
import type { ToWidgetMessage } from "@widget-todevice/codec";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DUPLICATE_ENTRY_BYTES } from "../src/duplicate-filter.js";
import type { ReceivedToDeviceMessage } from "../src/index.js";
import { type RouterWidget, ToDeviceRouter } from "../src/to-device-router.js";
import { RecordingLogger } from "./harness/world.js";

const ROOM = "!r1:example.org";

interface FakeWidget extends RouterWidget {
  readonly got: ToWidgetMessage[];
}

function fakeWidget(overrides: Partial<RouterWidget> = {}): FakeWidget {
  const got: ToWidgetMessage[] = [];
  return {
    id: "fake",
    roomId: ROOM,
    isRoomEncrypted: () => false,
    canReceive: (type) => type === "org.example.ping",
    deliver: async (message) => {
      got.push(message);
    },
    ...overrides,
    got,
  };
}

const cleartext = (
  content: Record<string, unknown>,
  type = "org.example.ping",
): ReceivedToDeviceMessage => ({
  message: { type, sender: "@bob:example.org", content },
  encryptionInfo: null,
});

const encrypted = (
  content: Record<string, unknown>,
  senderVerified = true,
): ReceivedToDeviceMessage => ({
  message: {
    type: "org.example.ping",
    sender: "@bob:example.org",
    content,
    keys: { ed25519: "K" },
  },
  encryptionInfo: { sender: "@bob:example.org", senderDevice: "BOBDEV", senderVerified },
});

describe("filters, in section 7's order", () => {
  it("drops reserved types even for a widget that claims the capability", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget({ canReceive: () => true });
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    router.receive(encrypted({}));
    router.receive({
      ...encrypted({}),
      message: { type: "m.room_key", sender: "@bob:example.org", content: {} },
    });
    expect(widget.got).toHaveLength(1);
    expect(route.stats.dropped.reserved_type).toBe(1);
  });

  it("counts each reason", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const inEncryptedRoom = fakeWidget({ isRoomEncrypted: () => true });
    const route = router.addWidget(inEncryptedRoom);
    route.negotiated(["legacy", "recipients", "scoped"]);
    router.receive(cleartext({}, "org.example.other"));
    router.receive(cleartext({}));
    router.receive(encrypted({ scope: { room_id: "!r2:example.org" } }));
    router.receive(encrypted({ scope: { room_id: ROOM }, "org.matrix.msgid": "m1" }));
    router.receive(encrypted({ scope: { room_id: ROOM }, "org.matrix.msgid": "m1" }));
    expect(route.stats).toMatchObject({
      delivered: 1,
      dropped: expect.objectContaining({
        no_capability: 1,
        cleartext_in_encrypted_room: 1,
        other_room: 1,
        duplicate: 1,
      }),
    });
  });

  it("drops a scope that is not well-formed in scoped mode, even when it names the room", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy", "recipients", "scoped"]);
    router.receive(encrypted({ n: 1, scope: { room_id: ROOM, id: 5 } }));
    // A scope the content only inherits is not the content's.
    const inherited = Object.create({ scope: { room_id: ROOM } }) as Record<string, unknown>;
    inherited.n = 2;
    router.receive(encrypted(inherited));
    router.receive(encrypted({ n: 3, scope: { room_id: ROOM, id: "org.example.app" } }));
    expect(widget.got.map((m) => m.content)).toEqual([
      { n: 3, scope: { room_id: ROOM, id: "org.example.app" } },
    ]);
    expect(route.stats.dropped.other_room).toBe(2);
  });

  it("does not apply scoped mode to a global widget", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const global = fakeWidget({ roomId: null });
    router.addWidget(global).negotiated(["legacy", "recipients", "scoped"]);
    router.receive(encrypted({ hello: 1 }));
    expect(global.got).toHaveLength(1);
  });

  it("accepts only verified senders under cross-signed-only", () => {
    const router = new ToDeviceRouter({
      incomingTrust: "cross-signed-only",
      logger: new RecordingLogger(),
    });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    router.receive(encrypted({ n: 1 }, true));
    router.receive(encrypted({ n: 2 }, false));
    router.receive(cleartext({ n: 3 }));
    expect(widget.got.map((m) => m.content)).toEqual([{ n: 1 }]);
    expect(route.stats.dropped.untrusted_sender).toBe(2);
  });

  it("drops malformed messages and a sender that decryption contradicts", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    route.negotiated(["legacy"]);
    router.receive({
      message: { type: "org.example.ping", sender: "@bob:example.org", content: "x" },
      encryptionInfo: null,
    });
    router.receive({
      ...encrypted({}),
      encryptionInfo: { sender: "@mallory:example.org", senderDevice: "M", senderVerified: true },
    });
    router.receive(undefined as unknown as ReceivedToDeviceMessage);
    expect(widget.got).toEqual([]);
    expect(route.stats.dropped.malformed).toBe(3);
  });

  it("keeps de-duplication memory bounded", () => {
    const router = new ToDeviceRouter({
      dedupMaxBytes: 2 * DUPLICATE_ENTRY_BYTES,
      logger: new RecordingLogger(),
    });
    const widget = fakeWidget();
    router.addWidget(widget).negotiated(["legacy"]);
    for (const id of ["a", "b", "c", "a"]) router.receive(cleartext({ "org.matrix.msgid": id }));
    // `a` was forgotten when `c` arrived, so it is delivered again: memory is bounded.
    expect(widget.got).toHaveLength(4);
    router.receive(cleartext({ "org.matrix.msgid": "c" }));
    expect(widget.got).toHaveLength(4);
  });

  it("survives a widget whose delivery fails", async () => {
    const logger = new RecordingLogger();
    const router = new ToDeviceRouter({ logger });
    router
      .addWidget(fakeWidget({ deliver: () => Promise.reject(new Error("timed out")) }))
      .negotiated(["legacy"]);
    const healthy = fakeWidget();
    router.addWidget(healthy).negotiated(["legacy"]);
    router.receive(cleartext({}));
    await Promise.resolve();
    expect(healthy.got).toHaveLength(1);
    expect(logger.lines.some((line) => line.includes("did not accept"))).toBe(true);
  });
});

describe("before negotiation", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("buffers, then delivers in order through the filters", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    router.receive(cleartext({ n: 1 }));
    router.receive(cleartext({ n: 2 }, "org.example.other"));
    router.receive(cleartext({ n: 3 }));
    vi.advanceTimersByTime(5_000);
    expect(widget.got).toEqual([]);
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => m.content)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(route.stats.dropped.no_capability).toBe(1);
  });

  it("drops and logs what waited longer than maxAgeMs", () => {
    const logger = new RecordingLogger();
    const router = new ToDeviceRouter({ logger, preNegotiation: { maxAgeMs: 1_000 } });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    router.receive(cleartext({ n: 1 }));
    vi.advanceTimersByTime(600);
    router.receive(cleartext({ n: 2 }));
    vi.advanceTimersByTime(500);
    expect(route.stats.dropped.not_negotiated).toBe(1);
    expect(logger.lines.join("\n")).toMatch(/dropped 1 to-device message\(s\) that arrived before/);
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => m.content)).toEqual([{ n: 2 }]);
  });

  it("holds at most maxMessages, dropping the oldest", () => {
    const router = new ToDeviceRouter({
      logger: new RecordingLogger(),
      preNegotiation: { maxMessages: 2 },
    });
    const widget = fakeWidget();
    const route = router.addWidget(widget);
    for (const n of [1, 2, 3]) router.receive(cleartext({ n }));
    route.negotiated(["legacy"]);
    expect(widget.got.map((m) => m.content)).toEqual([{ n: 2 }, { n: 3 }]);
    expect(route.stats.dropped.not_negotiated).toBe(1);
  });

  it("does not buffer reserved types", () => {
    const router = new ToDeviceRouter({
      logger: new RecordingLogger(),
      preNegotiation: { maxMessages: 1 },
    });
    const route = router.addWidget(fakeWidget());
    router.receive(cleartext({ n: 1 }));
    router.receive(cleartext({}, "m.room_key"));
    expect(route.stats.dropped.reserved_type).toBe(1);
    expect(route.stats.dropped.not_negotiated).toBe(0);
  });

  it("counts what was waiting when the widget goes away", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const route = router.addWidget(fakeWidget());
    router.receive(cleartext({}));
    route.remove();
    expect(route.stats.dropped.not_negotiated).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("with a transport", () => {
  it("connects and disconnects", () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const listeners = new Set<(m: ReceivedToDeviceMessage) => void>();
    const disconnect = router.connect({
      onToDeviceMessage: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
    const widget = fakeWidget();
    router.addWidget(widget).negotiated(["legacy"]);
    for (const listener of listeners) listener(cleartext({}));
    disconnect();
    expect(listeners.size).toBe(0);
    expect(widget.got).toHaveLength(1);
  });
});

/**
 * Hostile and broken requests through the intercepted `send_to_device` action, with real
 * matrix-widget-api objects on both sides: every one gets a clear error reply; nothing
 * crashes, hangs or goes unanswered.
 */
import { describe, expect, it } from "vitest";
import {
  BARRIER,
  BOB,
  contentsReceived,
  createWorld,
  PING,
  send,
  sendBarrier,
  settle,
} from "./harness/world.js";

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { inner: value };
  return value;
}

const messages = { [BOB]: { BOBDEV: { hello: "world" } } };

const CASES: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ["no data", undefined, /^Invalid request - missing event type: the request has no `data`/],
  ["data is a string", "hello", /^Invalid request - missing event type/],
  ["data is an array", [1, 2], /^Invalid request - missing event type/],
  ["data is null", null, /^Invalid request - missing event type/],
  [
    "type is a number",
    { type: 5, encrypted: true, messages },
    /^Invalid request - missing event type: type:/,
  ],
  [
    "messages is an array",
    { type: PING, encrypted: true, messages: [] },
    /^Invalid request: messages/,
  ],
  [
    "recipient_devices without content",
    { type: PING, recipient_devices: { [BOB]: ["BOBDEV"] } },
    /^Invalid request - missing event contents/,
  ],
  [
    "device list is a string",
    { type: PING, recipient_devices: { [BOB]: "BOBDEV" }, content: {} },
    /recipient_devices/,
  ],
  [
    "bad user ID",
    { type: PING, encrypted: true, messages: { bob: { BOBDEV: {} } } },
    /messages\.bob: "bob" is not a user ID/,
  ],
  [
    "`*` mixed with a device",
    { type: PING, recipient_devices: { [BOB]: ["*", "BOBDEV"] }, content: {} },
    /may not be mixed/,
  ],
  [
    "duplicate device",
    { type: PING, recipient_devices: { [BOB]: ["A", "A"] }, content: {} },
    /listed twice/,
  ],
  [
    "both formats at once",
    { type: PING, encrypted: true, messages, recipient_devices: {}, content: {} },
    /either `messages`/,
  ],
  [
    "reserved type",
    { type: "m.room_key", encrypted: true, messages },
    /^Cannot send to-device events of this type: `m.room_key` is reserved/,
  ],
  [
    "reserved verification type",
    { type: "m.key.verification.start", encrypted: true, messages },
    /reserved/,
  ],
  [
    "forged scope.room_id",
    {
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: {},
      scope: { room_id: "!x:example.org" },
    },
    /scope\.room_id/,
  ],
  [
    "forged content.scope",
    {
      type: PING,
      encrypted: true,
      messages: { [BOB]: { BOBDEV: { scope: { room_id: "!x:example.org" } } } },
    },
    /scope/,
  ],
  [
    "scope not an object",
    { type: PING, recipient_devices: { [BOB]: ["BOBDEV"] }, content: {}, scope: "room" },
    /scope/,
  ],
  [
    "deeply nested content",
    { type: PING, encrypted: true, messages: { [BOB]: { BOBDEV: nested(200) } } },
    /deeper than the limit/,
  ],
  [
    "oversized request",
    {
      type: PING,
      encrypted: true,
      messages: { [BOB]: { BOBDEV: { big: "x".repeat(1_100_000) } } },
    },
    /larger than the limit/,
  ],
  ["unknown field", { type: PING, encrypted: true, messages, extra: 1 }, /unknown field `extra`/],
  [
    "encrypted flag wrong type (recipients)",
    { type: PING, encrypted: "yes", recipient_devices: { [BOB]: ["BOBDEV"] }, content: {} },
    /^Invalid request - missing encryption flag/,
  ],
];

describe("every malformed request gets an error naming the problem", () => {
  it.each(CASES)("%s", async (_name, data, expected) => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING), send("m.room_key")], advertisesFormats: true },
    );
    const reply = await frame.send(data);
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toMatch(expected);
    expect(world.homeserver.sendLog).toEqual([]);
  });
});

describe("keys that name prototypes", () => {
  it("sends to a device called __proto__ without touching any prototype", async () => {
    const world = createWorld();
    const proto = world.homeserver.addDevice(BOB, "__proto__");
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    // JSON.parse makes `__proto__` an own key, as postMessage's structured clone keeps it.
    const data = JSON.parse(
      `{"type":"${PING}","encrypted":true,"messages":{"${BOB}":{"__proto__":{"a":1},"NOPE":{"a":1}}}}`,
    ) as unknown;
    const reply = await frame.send(data);
    await settle();
    expect(reply).toEqual({
      ok: true,
      response: { failures: { [BOB]: { NOPE: "unknown_device" } } },
    });
    expect(proto.received.map((r) => r.message.content)).toEqual([{ a: 1 }]);
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });

  it("keeps a __proto__ key in content as data", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const content = JSON.parse('{"__proto__":{"polluted":true},"n":1}') as unknown;
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content,
    });
    await settle();
    expect(reply.ok).toBe(true);
    const received = world.bob.received[0]?.message.content as Record<string, unknown>;
    expect(Object.keys(received)).toEqual(["__proto__", "n"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("a flood of requests", () => {
  it("answers every one; beyond the pending limit with an error", async () => {
    const world = createWorld({ maxPendingSendsPerWidget: 20 });
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    world.homeserver.failNextSends({ kind: "slow", delayMs: 50 });
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        frame.send(
          i % 3 === 0
            ? { type: PING, encrypted: "no", messages }
            : { type: PING, encrypted: true, messages: { [BOB]: { BOBDEV: { i } } } },
        ),
      ),
    );
    expect(replies).toHaveLength(200);
    const busy = replies.filter((r) => !r.ok && r.message.startsWith("Too many to-device sends"));
    const malformed = replies.filter((r) => !r.ok && r.message.startsWith("Invalid request"));
    const delivered = replies.filter((r) => r.ok);
    expect(busy.length).toBeGreaterThan(0);
    expect(malformed.length).toBeGreaterThan(0);
    expect(delivered.length + busy.length + malformed.length).toBe(200);
    // Exactly the accepted ones arrived, in the order they were sent, and nothing of a busy or
    // malformed one arrives later: the barrier, sent last, comes last.
    await sendBarrier(world, frame);
    const contents = contentsReceived(world.bob);
    expect(contents.at(-1)).toEqual(BARRIER);
    const arrived = contents.slice(0, -1).map((content) => (content as { i: number }).i);
    expect(arrived).toHaveLength(delivered.length);
    expect([...arrived].sort((a, b) => a - b)).toEqual(arrived);
  });
});

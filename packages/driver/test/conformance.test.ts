/**
 * Conformance cases 1, 3-15 (spec/conformance.md) on the wire.
 * Real matrix-widget-api objects on both sides (WidgetApi <-> ClientWidgetApi over postMessage,
 * see harness/widget-frame.ts) and the in-memory homeserver; no fakes.
 */
import { FORMAT_IDENTIFIERS, FORMAT_LEGACY, FORMAT_RECIPIENTS } from "@widget-todevice/codec";
import { CurrentApiVersions, WidgetApiFromWidgetAction } from "matrix-widget-api";
import { describe, expect, it } from "vitest";
import { WidgetFrame } from "./harness/widget-frame.js";
import {
  BARRIER,
  BOB,
  CAROL,
  createWorld,
  OTHER_ROOM,
  PING,
  ROOM,
  receive,
  send,
  sendBarrier,
  settle,
} from "./harness/world.js";

const RECIPIENTS = [FORMAT_LEGACY, FORMAT_RECIPIENTS];

const contentsOf = (transport: { received: ReadonlyArray<{ message: { content: unknown } }> }) =>
  transport.received.map((r) => r.message.content);

describe("conformance 1: a stock matrix-widget-api widget sends the legacy format", () => {
  it("delivers encrypted to Bob's device and resolves with {}", async () => {
    const world = createWorld();
    const { frame } = await world.widget({ roomEncrypted: false }, { capabilities: [send(PING)] });
    const result = await frame.widgetApi.sendToDevice(PING, true, {
      [BOB]: { BOBDEV: { hello: "world" } },
    });
    await settle();
    expect(result).toEqual({});
    expect(world.bob.received).toHaveLength(1);
    const [received] = world.bob.received;
    expect(received?.message.type).toBe(PING);
    expect(received?.message.content).toEqual({ hello: "world" });
    expect(received?.encryptionInfo).toMatchObject({
      sender: "@alice:example.org",
      senderDevice: "ALICEDEV",
    });
    expect(world.homeserver.sendLog.map((r) => r.eventType)).toEqual(["m.room.encrypted"]);
  });
});

describe("conformance 3: legacy errors start with matrix-widget-api's words, in its order", () => {
  const messages = { [BOB]: { BOBDEV: { hello: "world" } } };
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["missing type", { encrypted: true, messages }, "Invalid request - missing event type"],
    ["missing type and messages", { encrypted: "no" }, "Invalid request - missing event type"],
    [
      "missing messages",
      { type: PING, encrypted: true },
      "Invalid request - missing event contents",
    ],
    ["missing messages and flag", { type: PING }, "Invalid request - missing event contents"],
    ["missing flag", { type: PING, messages }, "Invalid request - missing encryption flag"],
    [
      "non-boolean flag",
      { type: PING, messages, encrypted: "yes" },
      "Invalid request - missing encryption flag",
    ],
    [
      "flag before capability",
      { type: "org.example.other", messages },
      "Invalid request - missing encryption flag",
    ],
    [
      "no capability",
      { type: "org.example.other", messages, encrypted: true },
      "Cannot send to-device events of this type",
    ],
  ];

  it.each(cases)("%s", async (_name, data, words) => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const reply = await frame.send(data);
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message.startsWith(words)).toBe(true);
  });

  it("uses the same words as a stock ClientWidgetApi for the same requests", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const stock = new WidgetFrame({ widgetId: "stock", capabilities: [send(PING)] });
    await stock.load();
    try {
      for (const [, data] of cases) {
        const ours = await frame.send(data);
        const theirs = await stock.send(data);
        expect(ours.ok || theirs.ok).toBe(false);
        if (!ours.ok && !theirs.ok) expect(ours.message.startsWith(theirs.message)).toBe(true);
      }
    } finally {
      stock.stop();
    }
  });

  it("adds the JSON path of a deeper problem", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [BOB]: { BOBDEV: "not an object" } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.message).toMatch(/^Invalid request/);
      expect(reply.message).toContain(`messages["${BOB}"].BOBDEV`);
    }
  });
});

describe("conformance 4: supported_api_versions", () => {
  it("lists the stock versions and all three format identifiers", async () => {
    const world = createWorld();
    const { frame } = await world.widget({});
    const versions = await frame.widgetApi.getClientVersions();
    expect(versions).toEqual(
      expect.arrayContaining([...CurrentApiVersions, ...FORMAT_IDENTIFIERS]),
    );
    expect(versions).toContain("org.matrix.msc3819");
    expect(versions).toContain("org.matrix.msc3819.recipient_devices");
    expect(versions).toContain("org.matrix.msc3819.scoped");
    expect(new Set(versions).size).toBe(versions.length);
  });

  it("learns the formats the widget advertises", async () => {
    const world = createWorld();
    const stock = await world.widget({});
    const newer = await world.widget({}, { advertisesFormats: true });
    expect(stock.attachment.formats).toEqual(["legacy"]);
    expect(newer.attachment.formats).toEqual(["legacy", "recipients", "scoped"]);
  });
});

describe("conformance 5: recipients format", () => {
  it("delivers one content to the listed devices", async () => {
    const world = createWorld();
    const bobTablet = world.homeserver.addDevice(BOB, "A");
    const bobPhone = world.homeserver.addDevice(BOB, "B");
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["A", "B"] },
      content: { n: 1 },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    await sendBarrier(world, frame);
    expect(contentsOf(bobTablet)).toEqual([{ n: 1 }]);
    expect(contentsOf(bobPhone)).toEqual([{ n: 1 }]);
    // Bob's unlisted device got the barrier only.
    expect(contentsOf(world.bob)).toEqual([BARRIER]);
  });

  it("is smaller than the legacy request and grows by the device IDs only", () => {
    const content = { n: 1 };
    const devices = (n: number) => Array.from({ length: n }, (_, i) => `DEVICE${i}`);
    const recipients = (n: number) =>
      JSON.stringify({ type: PING, recipient_devices: { [BOB]: devices(n) }, content });
    const legacy = (n: number) =>
      JSON.stringify({
        type: PING,
        encrypted: true,
        messages: { [BOB]: Object.fromEntries(devices(n).map((d) => [d, content])) },
      });
    expect(recipients(2).length).toBeLessThan(legacy(2).length);
    // One more device adds `,"DEVICE10"`: its ID, two quotes and a comma.
    expect(recipients(11).length - recipients(10).length).toBe("DEVICE10".length + 3);
    expect(legacy(11).length - legacy(10).length).toBeGreaterThan("DEVICE10".length + 3);
  });
});

describe("conformance 6: scoped sends", () => {
  it("stamps the room and the id; only the widget in that room receives it", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomId: ROOM },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const bobHost = world.host();
    const inR1 = await bobHost.widget(
      { roomId: ROOM },
      { capabilities: [receive(PING)], advertisesFormats: true },
    );
    const inR2 = await bobHost.widget(
      { roomId: OTHER_ROOM },
      { capabilities: [receive(PING)], advertisesFormats: true },
    );

    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: { hello: "room" },
      scope: { id: "org.example.app" },
    });
    await settle(40);
    expect(reply).toEqual({ ok: true, response: {} });
    const scoped = { hello: "room", scope: { room_id: ROOM, id: "org.example.app" } };
    expect(contentsOf(world.bob)).toEqual([scoped]);
    expect(inR1.frame.received.map((m) => m.content)).toEqual([scoped]);
    expect(inR2.frame.received).toEqual([]);
    expect(inR2.attachment.stats.dropped.other_room).toBe(1);
  });

  it("defaults scope.id to the widget's type", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomId: ROOM },
      { capabilities: [send(PING)], advertisesFormats: true, type: "m.custom.call" },
    );
    await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: {},
      scope: {},
    });
    await settle();
    expect(contentsOf(world.bob)).toEqual([{ scope: { room_id: ROOM, id: "m.custom.call" } }]);
  });

  it("refuses a scoped send from a global widget", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomId: null },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: {},
      scope: {},
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toMatch(/not bound to a room cannot send scoped/);
    // Nothing of it leaves, then or later: a barrier sent afterwards is all that arrives.
    await sendBarrier(world, frame);
    expect(contentsOf(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });
});

describe("conformance 7: a widget cannot choose the room", () => {
  it.each([
    ["scope.room_id", { scope: { id: "x", room_id: OTHER_ROOM }, content: {} }],
    ["content.scope", { scope: { id: "x" }, content: { scope: { room_id: OTHER_ROOM } } }],
    ["content.scope (recipients)", { content: { scope: { room_id: OTHER_ROOM, id: "x" } } }],
  ])("refuses %s, naming the field", async (field, extra) => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      ...extra,
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toContain(field.split(" ")[0]);
    // Nothing of it leaves, then or later: a barrier sent afterwards is all that arrives.
    await sendBarrier(world, frame);
    expect(contentsOf(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });
});

describe("conformance 8: reserved types", () => {
  it("never approves receive.to_device:m.room_key and refuses sending m.room_key", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [receive("m.room_key"), send("m.room_key"), send(PING)] },
    );
    expect(frame.clientApi.hasCapability(receive("m.room_key"))).toBe(false);
    expect(frame.clientApi.hasCapability(send("m.room_key"))).toBe(false);
    expect(frame.clientApi.hasCapability(send(PING))).toBe(true);
    const reply = await frame.send({
      type: "m.room_key",
      encrypted: true,
      messages: { [BOB]: { BOBDEV: {} } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok)
      expect(reply.message).toMatch(
        /^Cannot send to-device events of this type: `m.room_key` is reserved/,
      );
  });

  it("refuses a reserved type even when a careless host granted it", async () => {
    const world = createWorld();
    const everything = async (requested: Set<string>) => requested;
    const { frame } = await world.widget(
      {},
      { capabilities: [send("m.room_key"), send(PING)], grant: everything },
    );
    expect(frame.clientApi.hasCapability(send("m.room_key"))).toBe(true);
    const reply = await frame.widgetApi
      .sendToDevice("m.room_key", true, { [BOB]: { BOBDEV: {} } })
      .catch((e: Error) => e);
    expect(reply).toBeInstanceOf(Error);
    // Nothing of it leaves, then or later: a barrier sent afterwards is all that arrives.
    await sendBarrier(world, frame);
    expect(contentsOf(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });
});

describe("conformance 9: no downgrade", () => {
  it("refuses encrypted: false in an encrypted room", async () => {
    const world = createWorld();
    const { frame } = await world.widget({ roomEncrypted: true }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [BOB]: { BOBDEV: {} } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toMatch(/encrypted.*no downgrade/);
    // Nothing of it leaves, then or later: a barrier sent afterwards is all that arrives.
    await sendBarrier(world, frame);
    expect(contentsOf(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });

  it("encrypts encrypted: true in a cleartext room", async () => {
    const world = createWorld();
    const { frame } = await world.widget({ roomEncrypted: false }, { capabilities: [send(PING)] });
    await frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { a: 1 } } });
    await settle();
    expect(world.bob.received[0]?.encryptionInfo).not.toBeNull();
    expect(world.homeserver.sendLog[0]?.eventType).toBe("m.room.encrypted");
  });
});

describe("conformance 10: a spoofed encrypted flag", () => {
  it("reaches a cleartext-room widget as encrypted: false and an encrypted-room widget not at all", async () => {
    const world = createWorld();
    const { frame } = await world.widget({ roomEncrypted: false }, { capabilities: [send(PING)] });
    const bobHost = world.host();
    const clear = await bobHost.widget({ roomEncrypted: false }, { capabilities: [receive(PING)] });
    const secret = await bobHost.widget({ roomEncrypted: true }, { capabilities: [receive(PING)] });

    await frame.widgetApi.sendToDevice(PING, false, { [BOB]: { BOBDEV: { encrypted: true } } });
    // The event itself claims to be encrypted too; it arrives in clear (no encryption info).
    const spoofed = {
      type: PING,
      sender: "@mallory:example.org",
      encrypted: true,
      content: { n: 2 },
    };
    bobHost.transport.deliver(spoofed);
    await settle(40);
    expect(clear.frame.received).toEqual([
      { type: PING, sender: "@alice:example.org", encrypted: false, content: { encrypted: true } },
      { type: PING, sender: "@mallory:example.org", encrypted: false, content: { n: 2 } },
    ]);
    expect(secret.frame.received).toEqual([]);
    expect(secret.attachment.stats.dropped.cleartext_in_encrypted_room).toBe(2);
  });
});

describe("conformance 11: exactly the section 7 fields", () => {
  it("strips the Olm envelope; adds sender_device and sender_verified for newer widgets only", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const bobHost = world.host();
    const stock = await bobHost.widget({}, { capabilities: [receive(PING)] });
    const newer = await bobHost.widget(
      {},
      { capabilities: [receive(PING)], advertisesFormats: RECIPIENTS },
    );

    await frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { hello: "world" } } });
    await settle(40);
    // The client's decrypted event carries envelope fields...
    expect(Object.keys(world.bob.received[0]?.message ?? {})).toEqual(
      expect.arrayContaining(["keys", "recipient", "recipient_keys", "sender_device_keys"]),
    );
    // ...that never reach a widget.
    expect(stock.frame.received).toHaveLength(1);
    expect(Object.keys(stock.frame.received[0] ?? {})).toEqual([
      "type",
      "sender",
      "encrypted",
      "content",
    ]);
    expect(newer.frame.received).toEqual([
      {
        type: PING,
        sender: "@alice:example.org",
        encrypted: true,
        content: { hello: "world" },
        sender_device: "ALICEDEV",
        sender_verified: true,
      },
    ]);
  });

  it("gives cleartext messages no sender facts", async () => {
    const world = createWorld();
    const bobHost = world.host();
    const newer = await bobHost.widget(
      { roomEncrypted: false },
      { capabilities: [receive(PING)], advertisesFormats: RECIPIENTS },
    );
    await world.alice.sendToDevice(
      PING,
      [{ userId: BOB, deviceId: "BOBDEV", content: { a: 1 } }],
      "t1",
    );
    await settle(40);
    expect(newer.frame.received).toEqual([
      { type: PING, sender: "@alice:example.org", encrypted: false, content: { a: 1 } },
    ]);
  });
});

describe("conformance 12: `*` with encryption", () => {
  it("reaches every one of Bob's devices, including one that logged in later", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    await frame.send({ type: PING, recipient_devices: { [BOB]: ["*"] }, content: { round: 1 } });
    const later = world.homeserver.addDevice(BOB, "BOBNEW");
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["*"] },
      content: { round: 2 },
    });
    await settle();
    expect(reply).toEqual({ ok: true, response: {} });
    expect(contentsOf(world.bob)).toEqual([{ round: 1 }, { round: 2 }]);
    expect(contentsOf(later)).toEqual([{ round: 2 }]);
    expect(world.bob.received.every((r) => r.encryptionInfo !== null)).toBe(true);
  });

  it("reports a user with no devices", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      {},
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["*"], [CAROL]: ["*"] },
      content: {},
    });
    expect(reply).toEqual({ ok: true, response: { failures: { [CAROL]: { "*": "no_devices" } } } });
  });
});

describe("conformance 13: unknown devices", () => {
  it("reports NOPE as unknown_device and still delivers to BOBDEV", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const reply = await frame.widgetApi.sendToDevice(PING, true, {
      [BOB]: { BOBDEV: { a: 1 }, NOPE: { a: 1 } },
    });
    await settle();
    expect(reply).toEqual({ failures: { [BOB]: { NOPE: "unknown_device" } } });
    expect(contentsOf(world.bob)).toEqual([{ a: 1 }]);
  });
});

describe("conformance 14: 429 with retry_after_ms", () => {
  it("delivers exactly once and answers after delivery", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    world.homeserver.failNextSends(
      { kind: "rate_limited", retryAfterMs: 15 },
      { kind: "rate_limited", retryAfterMs: 15 },
    );
    const timeline: string[] = [];
    world.bob.onToDeviceMessage(() => timeline.push("delivered"));
    const reply = await frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { a: 1 } } });
    timeline.push("answered");
    expect(reply).toEqual({});
    expect(timeline).toEqual(["delivered", "answered"]);
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([429, 429, 200]);
    expect(new Set(world.homeserver.sendLog.map((r) => r.txnId)).size).toBe(1);
  });
});

describe("conformance 15: 300 devices", () => {
  it.each([true, false])(
    "splits into requests within the limits (encrypted: %s), one copy per device",
    async (encrypted) => {
      const world = createWorld({
        chunkLimits: { maxMessagesPerRequest: 100, maxBytesPerRequest: 100_000 },
      });
      const devices = Array.from({ length: 300 }, (_, i) =>
        world.homeserver.addDevice(CAROL, `C${i}`),
      );
      const { frame } = await world.widget(
        { roomEncrypted: encrypted },
        { capabilities: [send(PING)], advertisesFormats: true },
      );
      const reply = await frame.send({
        type: PING,
        encrypted,
        recipient_devices: { [CAROL]: devices.map((d) => d.deviceId) },
        content: { key: "k".repeat(270) },
      });
      await settle();
      expect(reply).toEqual({ ok: true, response: {} });
      const log = world.homeserver.sendLog;
      expect(log.length).toBeGreaterThanOrEqual(3);
      for (const request of log) {
        expect(request.messageCount).toBeLessThanOrEqual(100);
        expect(request.bodyBytes).toBeLessThanOrEqual(100_000);
      }
      expect(log.reduce((n, r) => n + r.messageCount, 0)).toBe(300);
      expect(devices.every((d) => d.received.length === 1)).toBe(true);
    },
  );
});

it("uses the real widget API action name", () => {
  expect(WidgetApiFromWidgetAction.SendToDevice).toBe("send_to_device");
});

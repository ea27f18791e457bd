/**
 * Section 5's policy table, every row: once as a pure function (no fakes needed), once through
 * real matrix-widget-api objects and the in-memory homeserver (what Bob's device receives).
 */
import { describe, expect, it } from "vitest";
import { decideEncryption, type EncryptionRequestContext } from "../src/index.js";
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

type Row = readonly [
  label: string,
  roomId: string | null,
  roomEncrypted: boolean,
  requested: boolean | undefined,
  expected: "encrypt" | "cleartext" | "refuse",
];

const ROOM = "!r1:example.org";
const STRICT: ReadonlyArray<Row> = [
  ["room, encrypted room, encrypted: true", ROOM, true, true, "encrypt"],
  ["room, encrypted room, nothing", ROOM, true, undefined, "encrypt"],
  ["room, encrypted room, encrypted: false", ROOM, true, false, "refuse"],
  ["room, cleartext room, encrypted: true", ROOM, false, true, "encrypt"],
  ["room, cleartext room, encrypted: false", ROOM, false, false, "cleartext"],
  ["room, cleartext room, nothing", ROOM, false, undefined, "cleartext"],
  ["global, encrypted: true", null, false, true, "encrypt"],
  ["global, nothing", null, false, undefined, "encrypt"],
  ["global, encrypted: false, host does not allow", null, false, false, "refuse"],
];

const outcome = (
  context: EncryptionRequestContext,
  policy: "strict" | "obey-widget" = "strict",
) => {
  const decision = decideEncryption(policy, context);
  return decision.kind === "refused" ? "refuse" : decision.kind;
};

describe("strict policy (default)", () => {
  it.each(STRICT)("%s", (_label, roomId, roomEncrypted, requested, expected) => {
    expect(outcome({ roomId, roomEncrypted, requested, allowGlobalCleartext: false })).toBe(
      expected,
    );
  });

  it("global, encrypted: false, host allows: cleartext", () => {
    expect(
      outcome({ roomId: null, roomEncrypted: false, requested: false, allowGlobalCleartext: true }),
    ).toBe("cleartext");
  });
});

describe("obey-widget policy", () => {
  it("does what the flag says, strict when there is none", () => {
    const base = { roomId: ROOM, roomEncrypted: true, allowGlobalCleartext: false };
    expect(outcome({ ...base, requested: false }, "obey-widget")).toBe("cleartext");
    expect(outcome({ ...base, requested: true }, "obey-widget")).toBe("encrypt");
    expect(outcome({ ...base, requested: undefined }, "obey-widget")).toBe("encrypt");
    expect(outcome({ ...base, roomEncrypted: false, requested: true }, "obey-widget")).toBe(
      "encrypt",
    );
  });

  it("accepts a host function", () => {
    const decision = decideEncryption(() => ({ kind: "refused", message: "never" }), {
      roomId: null,
      roomEncrypted: false,
      requested: true,
      allowGlobalCleartext: false,
    });
    expect(decision).toEqual({ kind: "refused", message: "never" });
  });
});

describe("the policy on the wire (real widget API, in-memory homeserver)", () => {
  it.each(STRICT)("%s", async (_label, roomId, roomEncrypted, requested, expected) => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomId, roomEncrypted },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      ...(requested === undefined ? {} : { encrypted: requested }),
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: { secret: 1 },
    });
    if (expected === "refuse") {
      expect(reply.ok).toBe(false);
      await sendBarrier(world, frame);
      // Nothing of the refused send left, before or after its answer: only the barrier did.
      expect(contentsReceived(world.bob)).toEqual([BARRIER]);
      expect(world.homeserver.sendLog).toHaveLength(1);
      return;
    }
    await settle();
    expect(reply).toEqual({ ok: true, response: {} });
    expect(world.bob.received).toHaveLength(1);
    expect(world.bob.received[0]?.encryptionInfo === null ? "cleartext" : "encrypt").toBe(expected);
    // Nothing asked to be encrypted ever travels in clear.
    const wire = world.homeserver.sendLog[0]?.eventType;
    expect(wire).toBe(expected === "encrypt" ? "m.room.encrypted" : PING);
  });

  it("follows a room that becomes encrypted", async () => {
    const world = createWorld();
    let encrypted = false;
    const { frame } = await world.widget(
      { roomEncrypted: () => encrypted },
      { capabilities: [send(PING)] },
    );
    expect(
      (await frame.send({ type: PING, encrypted: false, messages: { [BOB]: { BOBDEV: {} } } })).ok,
    ).toBe(true);
    encrypted = true;
    expect(
      (await frame.send({ type: PING, encrypted: false, messages: { [BOB]: { BOBDEV: {} } } })).ok,
    ).toBe(false);
  });

  it("obeys the widget's flag when the host chose obey-widget", async () => {
    const world = createWorld({ encryptionPolicy: "obey-widget" });
    const { frame } = await world.widget({ roomEncrypted: true }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [BOB]: { BOBDEV: {} } },
    });
    await settle();
    expect(reply.ok).toBe(true);
    expect(world.bob.received[0]?.encryptionInfo).toBeNull();
  });

  it("lets a global widget send cleartext only when the host allows it", async () => {
    const world = createWorld({ allowGlobalCleartext: true });
    const { frame } = await world.widget({ roomId: null }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [BOB]: { BOBDEV: {} } },
    });
    await settle();
    expect(reply.ok).toBe(true);
    expect(world.bob.received[0]?.encryptionInfo).toBeNull();
  });
});

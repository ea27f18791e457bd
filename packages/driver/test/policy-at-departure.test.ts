/**
 * Section 5 holds when a request leaves, not when it was queued: a room can become encrypted
 * while a send waits for its turn, between its chunks, or between the attempts of one chunk.
 * Real matrix-widget-api objects and the in-memory homeserver; the room flips from inside
 * Alice's `/sendToDevice`, so the moment is exact and no test sleeps.
 */
import { describe, expect, it } from "vitest";
import type { DeviceMessage } from "../src/index.js";
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
  type World,
} from "./harness/world.js";

/** Runs `hook` inside each of Alice's `/sendToDevice` calls, before the homeserver sees it. */
function duringSends(
  world: World,
  hook: (call: number, eventType: string, messages: ReadonlyArray<DeviceMessage>) => unknown,
): void {
  const original = world.alice.sendToDevice.bind(world.alice);
  let calls = 0;
  world.alice.sendToDevice = async (eventType, messages, txnId) => {
    await hook(++calls, eventType, messages);
    return original(eventType, messages, txnId);
  };
}

describe("the encryption policy is decided when the send's turn comes", () => {
  it("encrypts a send without a flag that waited behind a slow send while the room became encrypted", async () => {
    let encrypted = false;
    const world = createWorld();
    world.homeserver.addDevice(CAROL, "CAROLDEV");
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    duringSends(world, async (call) => {
      if (call !== 1) return;
      firstStarted();
      await gate;
    });
    const { frame } = await world.widget(
      { roomEncrypted: () => encrypted },
      { capabilities: [send(PING)], advertisesFormats: true },
    );

    const slow = frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: { n: 1 },
    });
    await started;
    // Queued behind the slow send (same user), while the room is still cleartext.
    const queued = frame.send({
      type: PING,
      recipient_devices: { [BOB]: ["BOBDEV"] },
      content: { n: 2 },
    });
    // Barrier: another user's lane; its answer means the driver has taken the queued request.
    expect(
      await frame.send({ type: PING, recipient_devices: { [CAROL]: ["*"] }, content: {} }),
    ).toEqual({ ok: true, response: {} });

    encrypted = true;
    openGate();
    expect(await slow).toEqual({ ok: true, response: {} });
    expect(await queued).toEqual({ ok: true, response: {} });

    await settle();
    // Carol's barrier, the slow send, then the queued one: encrypted, decided at its turn.
    expect(world.homeserver.sendLog.map((record) => record.eventType)).toEqual([
      PING,
      PING,
      "m.room.encrypted",
    ]);
    const second = world.bob.received.find(
      (received) => (received.message.content as { n?: number }).n === 2,
    );
    expect(second?.encryptionInfo).not.toBeNull();
  });
});

describe("a cleartext send checks the policy before every /sendToDevice request", () => {
  it("sends no further chunk in clear once the room became encrypted, and reports the rest as cleartext_refused", async () => {
    let encrypted = false;
    const world = createWorld({
      chunkLimits: { maxMessagesPerRequest: 1 },
      maxConcurrentRequests: 1,
    });
    world.homeserver.addDevice(BOB, "BOBDEV2");
    duringSends(world, (call) => {
      // The first request has passed its check: the room becomes encrypted while it travels.
      if (call === 1) encrypted = true;
    });
    const { frame } = await world.widget(
      { roomEncrypted: () => encrypted },
      { capabilities: [send(PING)], advertisesFormats: true },
    );

    const reply = await frame.send({
      type: PING,
      encrypted: false,
      recipient_devices: { [BOB]: ["BOBDEV", "BOBDEV2"] },
      content: { n: 1 },
    });

    expect(reply).toEqual({
      ok: true,
      response: { failures: { [BOB]: { BOBDEV2: "cleartext_refused" } } },
    });
    expect(world.homeserver.sendLog.map((record) => record.messageCount)).toEqual([1]);
  });

  it("does not retry in clear once the room became encrypted", async () => {
    let encrypted = false;
    const world = createWorld();
    world.homeserver.failNextSends({ kind: "http_error", status: 500 });
    duringSends(world, (call) => {
      if (call === 1) encrypted = true;
    });
    const { frame } = await world.widget(
      { roomEncrypted: () => encrypted },
      { capabilities: [send(PING)], advertisesFormats: true },
    );

    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [BOB]: { BOBDEV: { n: 1 } } },
    });

    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.data.failures).toEqual({ [BOB]: { BOBDEV: "cleartext_refused" } });
    expect(reply.message).toMatch(/cleartext_refused/);
    // Only the failed first attempt reached the homeserver; the retry never left.
    expect(world.homeserver.sendLog.map((record) => record.outcome)).toEqual([500]);
    // Nor later: Bob's device gets the barrier sent after the answer, and nothing before it.
    await sendBarrier(world, frame);
    expect(contentsReceived(world.bob)).toEqual([BARRIER]);
    expect(world.homeserver.sendLog.map((record) => record.outcome)).toEqual([500, 200]);
  });
});

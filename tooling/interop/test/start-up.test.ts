// Start-up of matrix-js-sdk's embedded client (`RoomWidgetClient`) against the driver, and what
// the host has to approve besides the driver's to-device capabilities for it to start.
import { describe, expect, it } from "vitest";
import { CALL_KEYS, elementCallCapabilities, members } from "./support/element-call.js";
import { RoomHost, roomState } from "./support/hosts.js";
import { ALICE, BOB, createWorld, eventually, ROOM } from "./support/world.js";

const timeline = `org.matrix.msc2762.timeline:${ROOM}`;

describe("RoomWidgetClient start-up", () => {
  it("starts with to-device-only capabilities on a host that approves only to-device", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));

    expect(alice.isStarted()).toBe(true);
    const api = alice.frame.clientApi;
    expect(api.hasCapability(`org.matrix.msc3819.send.to_device:${CALL_KEYS}`)).toBe(true);
    expect(api.hasCapability(`org.matrix.msc3819.receive.to_device:${CALL_KEYS}`)).toBe(true);
  });

  it("with Element Call's capabilities never starts on a host that approves only to-device", async () => {
    const world = createWorld();
    const bob = await world.join(world.device(BOB, "BOBDEV"));
    const alice = world.joining(world.device(ALICE, "ALICEDEV"), {
      capabilities: elementCallCapabilities(ALICE, "ALICEDEV"),
    });
    await alice.attachment.negotiated;

    // Barrier: a key goes from Alice's widget to Bob's and back, so negotiation is long over.
    await alice.keyTransport.sendKey("a2V5LWE=", 0, members([alice, bob]));
    await eventually(() => bob.keys.length === 1, "Bob gets Alice's key");
    await bob.keyTransport.sendKey("a2V5LWI=", 0, members([alice, bob]));
    await eventually(() => alice.keys.length === 1, "Alice gets Bob's key");

    // The client waits for an initial `update_state` that only a host approving room state sends.
    expect(alice.frame.clientApi.hasCapability(timeline)).toBe(false);
    expect(alice.isStarted()).toBe(false);
  });

  it("with Element Call's capabilities starts when the host adds its own approval of room capabilities to the driver's", async () => {
    const world = createWorld();
    const state = roomState(ROOM, ALICE, [ALICE, BOB], true);
    const host = new RoomHost((roomId) => (roomId === ROOM ? state : []));
    const alice = await world.join(world.device(ALICE, "ALICEDEV"), {
      capabilities: elementCallCapabilities(ALICE, "ALICEDEV"),
      widgetDriver: host,
    });
    const bob = await world.join(world.device(BOB, "BOBDEV"));

    expect(alice.isStarted()).toBe(true);
    expect(host.approvedOthers).toContain(timeline);
    expect(host.approvedOthers.some((c) => c.includes("to_device"))).toBe(false);
    const room = alice.client.getRoom(ROOM);
    expect(room?.hasEncryptionStateEvent()).toBe(true);
    expect(room?.getMember(BOB)?.membership).toBe("join");

    await alice.keyTransport.sendKey("a2V5LWE=", 0, members([alice, bob]));
    await bob.keyTransport.sendKey("a2V5LWI=", 0, members([alice, bob]));
    await eventually(() => alice.keys.length === 1 && bob.keys.length === 1, "keys both ways");
    expect(bob.keys).toEqual([{ userId: ALICE, deviceId: "ALICEDEV", key: "a2V5LWE=", index: 0 }]);
    expect(alice.keys).toEqual([{ userId: BOB, deviceId: "BOBDEV", key: "a2V5LWI=", index: 0 }]);
  });
});

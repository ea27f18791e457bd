// Element Call's embedded client against the driver on a real Synapse with real Olm: the driver
// runs on matrix-js-sdk clients with Rust crypto (MatrixJsSdkTransport); the widgets are the
// in-memory suite's, over postMessage. One file, one room, few tests: Synapse start-up is the cost.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CALL_KEYS,
  type CallParticipant,
  elementCallCapabilities,
  joinCall,
  members,
  TO_DEVICE_ONLY,
} from "../test/support/element-call.js";
import { RoomHost, ToDeviceOnlyHost } from "../test/support/hosts.js";
import { startStockWidget } from "../test/support/stock-widget.js";
import {
  encryptedRoom,
  homeserver,
  type SynapseDevice,
  startDevice,
  stateFrom,
  until,
} from "./support.js";

let alice: SynapseDevice;
let bob: SynapseDevice;
let carol: SynapseDevice;
let room: string;

beforeAll(async () => {
  const hs = homeserver();
  const start = async (name: string) =>
    startDevice(hs, await hs.registerUser(`${name}${Date.now().toString(36)}`));
  alice = await start("alice");
  bob = await start("bob");
  carol = await start("carol");
  room = await encryptedRoom(alice, [bob, carol]);
});

const participants: CallParticipant[] = [];
afterEach(() => {
  for (const participant of participants.splice(0)) participant.stop();
  for (const device of [alice, bob, carol]) device.closeFrames();
});
afterAll(() => {
  for (const device of [alice, bob, carol]) device?.stop();
});

async function join(
  device: SynapseDevice,
  options: { host?: RoomHost | ToDeviceOnlyHost; fullSet?: boolean } = {},
): Promise<CallParticipant> {
  const { frame, attachment } = device.open(options.host ?? new ToDeviceOnlyHost(), room);
  const participant = joinCall(frame, {
    userId: device.userId,
    deviceId: device.deviceId,
    roomId: room,
    capabilities: options.fullSet
      ? elementCallCapabilities(device.userId, device.deviceId)
      : TO_DEVICE_ONLY,
  });
  participants.push(participant);
  await participant.started;
  await attachment.negotiated;
  return participant;
}

const keyOf = (p: CallParticipant) => Buffer.from(`key of ${p.userId}`).toString("base64");

describe("Element Call on Synapse with real Olm", () => {
  it("three RoomWidgetClients with to-device-only capabilities exchange keys, Olm-encrypted", async () => {
    const everyone = await Promise.all([join(alice), join(bob), join(carol)]);

    await Promise.all(everyone.map((p) => p.keyTransport.sendKey(keyOf(p), 0, members(everyone))));
    await until(() => everyone.every((p) => p.keys.length === 2), "two keys each");

    for (const p of everyone) {
      expect(new Set(p.keys)).toEqual(
        new Set(
          everyone
            .filter((o) => o !== p)
            .map((o) => ({ userId: o.userId, deviceId: o.deviceId, key: keyOf(o), index: 0 })),
        ),
      );
      expect(p.toDevice.every((e) => e.type === CALL_KEYS && e.encrypted)).toBe(true);
    }
    // What the matrix-js-sdk clients got off the wire: Olm-decrypted, from the right devices.
    const keysAtBob = bob.received.filter((r) => r.message.type === CALL_KEYS);
    expect(keysAtBob.map((r) => r.encryptionInfo?.senderDevice).sort()).toEqual(
      [alice.deviceId, carol.deviceId].sort(),
    );
  });

  it("Element Call's capability set starts when the host adds its own approvals and serves room state from matrix-js-sdk", async () => {
    const host = new RoomHost(stateFrom(alice.client));
    const caller = await join(alice, { host, fullSet: true });
    const callee = await join(bob);

    const seen = caller.client.getRoom(room);
    expect(seen?.hasEncryptionStateEvent()).toBe(true);
    expect(seen?.getMember(carol.userId)?.membership).toBe("join");

    await caller.keyTransport.sendKey(keyOf(caller), 0, members([caller, callee]));
    await callee.keyTransport.sendKey(keyOf(callee), 0, members([caller, callee]));
    await until(() => caller.keys.length === 1 && callee.keys.length === 1, "keys both ways");
    expect(caller.keys[0]).toMatchObject({ userId: bob.userId, key: keyOf(callee) });
    expect(callee.keys[0]).toMatchObject({ userId: alice.userId, key: keyOf(caller) });
  });

  it("a stock widget's partial send: the reached device gets the key, the answer names the unknown one", async () => {
    const callee = await join(alice);
    const { frame, attachment } = carol.open(new ToDeviceOnlyHost(), room);
    await startStockWidget(frame, [CALL_KEYS]);
    await attachment.negotiated;
    const key = Buffer.from("stock key").toString("base64");
    const content = {
      keys: { index: 0, key },
      room_id: room,
      member: { claimed_device_id: carol.deviceId, id: `${carol.userId}:${carol.deviceId}` },
      session: { call_id: "", application: "m.call", scope: "m.room" },
      sent_ts: Date.now(),
    };

    const response = await frame.widgetApi.sendToDevice(CALL_KEYS, true, {
      [alice.userId]: { [alice.deviceId]: content, GONE: content },
    });
    await until(() => callee.keys.length === 1, "Alice's widget gets the key");

    expect(response).toEqual({ failures: { [alice.userId]: { GONE: "unknown_device" } } });
    expect(callee.keys).toEqual([
      { userId: carol.userId, deviceId: carol.deviceId, key, index: 0 },
    ]);
  });
});

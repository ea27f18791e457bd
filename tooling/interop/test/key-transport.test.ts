// Element Call's key transport (MatrixRTC's `ToDeviceKeyTransport` in the pinned matrix-js-sdk)
// on `RoomWidgetClient`s against the driver, and stock widgets in the same call.
import { createToDeviceWidget } from "@widget-todevice/widget";
import { describe, expect, it } from "vitest";
import { CALL_KEYS, type CallParticipant, members } from "./support/element-call.js";
import { ToDeviceOnlyHost } from "./support/hosts.js";
import { startStockWidget } from "./support/stock-widget.js";
import { ALICE, BOB, CAROL, createWorld, eventually, ROOM } from "./support/world.js";

const keyOf = (p: CallParticipant) =>
  Buffer.from(`key of ${p.userId} ${p.deviceId}`).toString("base64");

/** A key event's content as Element Call sends it, for widgets that do not run the transport. */
const keyContent = (userId: string, deviceId: string, key: string) => ({
  keys: { index: 0, key },
  room_id: ROOM,
  member: { claimed_device_id: deviceId, id: `${userId}:${deviceId}` },
  session: { call_id: "", application: "m.call", scope: "m.room" },
  sent_ts: Date.now(),
});

describe("Element Call's to-device key transport", () => {
  it("four participants (Alice on two devices, Bob, Carol) each get every other's key once, encrypted", async () => {
    const world = createWorld();
    const everyone = await Promise.all([
      world.join(world.device(ALICE, "ALICE1")),
      world.join(world.device(ALICE, "ALICE2")),
      world.join(world.device(BOB, "BOBDEV")),
      world.join(world.device(CAROL, "CAROLDEV")),
    ]);

    await Promise.all(everyone.map((p) => p.keyTransport.sendKey(keyOf(p), 0, members(everyone))));
    await eventually(() => everyone.every((p) => p.keys.length === 3), "three keys each");

    for (const p of everyone) {
      const others = everyone.filter((o) => o !== p);
      expect(new Set(p.keys)).toEqual(
        new Set(
          others.map((o) => ({ userId: o.userId, deviceId: o.deviceId, key: keyOf(o), index: 0 })),
        ),
      );
      expect(p.toDevice.every((event) => event.type === CALL_KEYS && event.encrypted)).toBe(true);
      expect(p.statistics.counters).toEqual({
        roomEventEncryptionKeysSent: 1,
        roomEventEncryptionKeysReceived: 3,
      });
    }
    // One encrypted request per sender: the legacy map with three devices.
    expect(world.homeserver.sendLog.map((r) => [r.eventType, r.messageCount, r.outcome])).toEqual(
      Array(4).fill(["m.room.encrypted", 3, 200]),
    );
  });

  it("a stock widget (WidgetApi.sendToDevice) and Element Call exchange keys", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));
    const carol = world.device(CAROL, "CAROLDEV");
    const { frame, attachment } = carol.open(new ToDeviceOnlyHost());
    const stock = await startStockWidget(frame, [CALL_KEYS]);
    await attachment.negotiated;

    const key = Buffer.from("stock key").toString("base64");
    await frame.widgetApi.sendToDevice(CALL_KEYS, true, {
      [ALICE]: { ALICEDEV: keyContent(CAROL, "CAROLDEV", key) },
    });
    await alice.keyTransport.sendKey(keyOf(alice), 0, members([alice, carol]));
    await eventually(() => alice.keys.length === 1 && stock.received.length === 1, "both keys");

    expect(alice.keys).toEqual([{ userId: CAROL, deviceId: "CAROLDEV", key, index: 0 }]);
    expect(stock.received).toEqual([
      {
        type: CALL_KEYS,
        sender: ALICE,
        encrypted: true,
        content: expect.objectContaining({ keys: { index: 0, key: keyOf(alice) }, room_id: ROOM }),
      },
    ]);
  });

  it("a widget on this project's widget package sends Element Call a key in the newest format", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));
    const carol = world.device(CAROL, "CAROLDEV");
    const { frame, attachment } = carol.open(new ToDeviceOnlyHost());
    const widget = createToDeviceWidget({
      api: frame.widgetApi,
      send: [CALL_KEYS],
      receive: [CALL_KEYS],
      userId: CAROL,
      roomId: ROOM,
      deviceId: "CAROLDEV",
      onError: () => undefined,
    });
    void frame.widgetApi.sendContentLoaded();
    await attachment.negotiated;

    const key = Buffer.from("package key").toString("base64");
    const receipt = await widget.send(
      CALL_KEYS,
      { [ALICE]: ["ALICEDEV"] },
      keyContent(CAROL, "CAROLDEV", key),
      { encrypted: true },
    );
    await eventually(() => alice.keys.length === 1, "the key");

    expect(receipt.format).not.toBe("legacy");
    expect(alice.keys).toEqual([{ userId: CAROL, deviceId: "CAROLDEV", key, index: 0 }]);
  });
});

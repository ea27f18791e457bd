// The widget package's observer beside matrix-js-sdk's `RoomWidgetClient` on one `WidgetApi`,
// against the driver: the observer gets the sender device the driver authenticated and the
// failures of the client's sends, while the client keeps answering and sending on its own.
import { observeToDevice, type ToDeviceSendError } from "@widget-todevice/widget";
import { afterEach, describe, expect, it } from "vitest";
import { startCallWidget } from "../examples/matrix-js-sdk.js";
import {
  CALL_KEYS,
  type CallParticipant,
  joinCall,
  members,
  TO_DEVICE_ONLY,
} from "./support/element-call.js";
import type { Frame } from "./support/frame.js";
import { ToDeviceOnlyHost } from "./support/hosts.js";
import { startStockWidget } from "./support/stock-widget.js";
import { ALICE, BOB, createWorld, type DeviceHost, eventually, ROOM } from "./support/world.js";

interface WireMessage {
  readonly api?: string;
  readonly widgetId?: string;
  readonly requestId?: string;
  readonly action?: string;
  readonly response?: unknown;
}

/** Every postMessage of the page, both ways (every frame's window dispatches on globalThis). */
const wire: WireMessage[] = [];
const record = (event: Event): void => {
  wire.push((event as MessageEvent).data as WireMessage);
};
globalThis.addEventListener("message", record);

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0).reverse()) stop();
  wire.length = 0;
});

/** The widget's answers to the host's `send_to_device` requests, by request ID. */
function answersTo(frame: Frame): Map<string, number> {
  const widgetId = frame.widgetApi.transport.widgetId;
  const answers = new Map<string, number>();
  for (const m of wire) {
    if (m.widgetId !== widgetId || m.api !== "toWidget" || m.action !== "send_to_device") continue;
    if (m.response === undefined) continue;
    answers.set(m.requestId ?? "", (answers.get(m.requestId ?? "") ?? 0) + 1);
  }
  return answers;
}

/** How many `send_to_device` requests the host posted to the widget. */
function hostRequests(frame: Frame, action: string): number {
  return frame.toWidget.filter((message) => {
    const m = message as WireMessage;
    return m.api === "toWidget" && m.action === action && m.response === undefined;
  }).length;
}

/** Capability requests in either direction: the host's, and a widget's renegotiation (MSC2974). */
function capabilityRequests(frame: Frame): number {
  const widgetId = frame.widgetApi.transport.widgetId;
  return wire.filter(
    (m) =>
      m.widgetId === widgetId &&
      m.response === undefined &&
      (m.action === "capabilities" || m.action === "org.matrix.msc2974.request_capabilities"),
  ).length;
}

/** Element Call's content of a key message, as a stock widget would send it. */
const keyContent = (claimedDevice: string, key: string) => ({
  keys: { index: 0, key },
  room_id: ROOM,
  member: { claimed_device_id: claimedDevice, id: `${BOB}:${claimedDevice}` },
  session: { call_id: "", application: "m.call", scope: "m.room" },
  sent_ts: 0,
});

/** Alice's call widget: an observer first, then Element Call's client and key transport. */
function observedCall(host: DeviceHost) {
  const { frame, attachment } = host.open(new ToDeviceOnlyHost());
  const keys: Array<{ sender: string; sender_device: string | undefined; claimed: string }> = [];
  const sendErrors: ToDeviceSendError[] = [];
  const observer = observeToDevice(frame.widgetApi, {
    receive: [CALL_KEYS],
    send: [CALL_KEYS],
    onSendError: (error) => sendErrors.push(error),
    onError: () => undefined,
  });
  observer.subscribe(
    CALL_KEYS,
    ({ sender, sender_device, content }) => {
      keys.push({ sender, sender_device, claimed: content.member.claimed_device_id });
    },
    {
      content: (c: unknown): c is { member: { claimed_device_id: string } } =>
        typeof (c as { member?: { claimed_device_id?: unknown } }).member?.claimed_device_id ===
        "string",
    },
  );
  const participant: CallParticipant = joinCall(frame, {
    userId: host.userId,
    deviceId: host.deviceId,
    roomId: ROOM,
    capabilities: TO_DEVICE_ONLY,
  });
  stops.push(() => {
    observer.close();
    participant.stop();
  });
  return { frame, attachment, observer, participant, keys, sendErrors };
}

describe("an observer beside RoomWidgetClient", () => {
  it("gets the sender device the driver authenticated, while the client's key transport keeps working; one answer per message, one capability request", async () => {
    const world = createWorld();
    const alice = observedCall(world.device(ALICE, "ALICEDEV"));
    await alice.participant.started;
    await alice.attachment.negotiated;
    const bob = await world.join(world.device(BOB, "BOBDEV"));
    // Bob's second device runs a stock widget that claims to be BOBDEV.
    const phone = world.device(BOB, "BOBPHONE").open(new ToDeviceOnlyHost());
    await startStockWidget(phone.frame, [CALL_KEYS]);
    await phone.attachment.negotiated;

    await bob.keyTransport.sendKey("a2V5LWI=", 0, members([alice.participant, bob]));
    await phone.frame.widgetApi.sendToDevice(CALL_KEYS, true, {
      [ALICE]: { ALICEDEV: keyContent("BOBDEV", "Zm9yZ2Vk") },
    });
    await eventually(() => alice.participant.keys.length === 2, "both keys at the client");
    await eventually(() => alice.keys.length === 2, "both keys at the observer");

    // The client takes the claim (legacy format: it has nothing else to go on) ...
    expect(alice.participant.keys.map((k) => [k.userId, k.deviceId, k.key])).toEqual([
      [BOB, "BOBDEV", "a2V5LWI="],
      [BOB, "BOBDEV", "Zm9yZ2Vk"],
    ]);
    // ... the observer has the device that really sent each.
    expect(alice.keys).toEqual([
      { sender: BOB, sender_device: "BOBDEV", claimed: "BOBDEV" },
      { sender: BOB, sender_device: "BOBPHONE", claimed: "BOBDEV" },
    ]);
    // The widget advertised recipients (so the driver vouches), never scoped.
    expect(alice.attachment.formats).toEqual(["legacy", "recipients"]);
    expect((await alice.observer.ready).granted.receive).toEqual([CALL_KEYS]);

    // Every message answered exactly once, by the client; capabilities asked once, by the host.
    const answers = answersTo(alice.frame);
    expect(hostRequests(alice.frame, "send_to_device")).toBe(2);
    expect([...answers.values()]).toEqual([1, 1]);
    expect(capabilityRequests(alice.frame)).toBe(1);
    expect(hostRequests(alice.frame, "supported_api_versions")).toBe(1);
  });

  it("reports the devices the client's send did not reach, which the client's caller never learns", async () => {
    const world = createWorld();
    const alice = observedCall(world.device(ALICE, "ALICEDEV"));
    await alice.participant.started;
    await alice.attachment.negotiated;
    const bob = await world.join(world.device(BOB, "BOBDEV"));

    await alice.participant.keyTransport.sendKey("a2V5LWE=", 0, [
      ...members([alice.participant, bob]),
      { userId: BOB, deviceId: "GONE", membershipTs: 0 },
    ]);
    await eventually(() => bob.keys.length === 1, "Bob's key");
    // Barrier: a full success after the partial one, observed in order.
    await alice.participant.keyTransport.sendKey("a2V5LWE=", 1, members([alice.participant, bob]));
    await eventually(() => bob.keys.length === 2, "Bob's second key");

    expect(alice.participant.statistics.counters.roomEventEncryptionKeysSent).toBe(2);
    expect(alice.sendErrors.map((e) => [e.reason, e.type, e.failures])).toEqual([
      ["partial_failure", CALL_KEYS, { [BOB]: { GONE: "unknown_device" } }],
    ]);
  });

  it("is refused on a widget API the client already started", () => {
    const world = createWorld();
    const { frame } = world.device(ALICE, "ALICEDEV").open(new ToDeviceOnlyHost());
    const participant = joinCall(frame, {
      userId: ALICE,
      deviceId: "ALICEDEV",
      roomId: ROOM,
      capabilities: TO_DEVICE_ONLY,
    });
    stops.push(() => participant.stop());
    expect(() => observeToDevice(frame.widgetApi, { receive: [CALL_KEYS] })).toThrow(
      /create the observer before the client/,
    );
  });
});

describe("the widget package's example for matrix-js-sdk embedded clients", () => {
  it("runs as written: authenticated key origins and undelivered devices", async () => {
    const world = createWorld();
    const host = world.device(ALICE, "ALICEDEV");
    const { frame, attachment } = host.open(new ToDeviceOnlyHost());
    const origins: unknown[] = [];
    const undelivered: unknown[] = [];
    const { client, observer } = startCallWidget(
      frame.widgetApi,
      { userId: ALICE, deviceId: "ALICEDEV", roomId: ROOM },
      (origin) => origins.push(origin),
      (failures) => undelivered.push(failures),
    );
    stops.push(() => {
      observer.close();
      client.stopClient();
    });
    await client.startClient();
    await attachment.negotiated;
    const bob = await world.join(world.device(BOB, "BOBDEV"));

    await bob.keyTransport.sendKey("a2V5LWI=", 0, [
      { userId: ALICE, deviceId: "ALICEDEV", membershipTs: 0 },
    ]);
    await client.encryptAndSendToDevice(
      CALL_KEYS,
      [
        { userId: BOB, deviceId: "BOBDEV" },
        { userId: BOB, deviceId: "GONE" },
      ],
      keyContent("ALICEDEV", "a2V5LWE="),
    );
    await eventually(() => origins.length === 1 && undelivered.length === 1, "both reports");

    expect(origins).toEqual([{ sender: BOB, claimedDevice: "BOBDEV", senderDevice: "BOBDEV" }]);
    expect(undelivered).toEqual([{ [BOB]: { GONE: "unknown_device" } }]);
  });
});

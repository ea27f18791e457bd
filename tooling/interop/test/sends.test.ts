// What RoomWidgetClient's sends (`sendToDevice`: cleartext, `encryptAndSendToDevice`: the legacy
// map with `encrypted: true`) come back with from the driver, and what goes on the wire.
import type { EncryptionPolicyMode } from "@widget-todevice/driver";
import { MatrixError } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { members } from "./support/element-call.js";
import type { Frame } from "./support/frame.js";
import { ToDeviceOnlyHost } from "./support/hosts.js";
import { startStockWidget } from "./support/stock-widget.js";
import { ALICE, BOB, CAROL, createWorld, eventually, type Participant } from "./support/world.js";

const PING = "org.example.ping";
const BARRIER = "org.example.barrier";
const PING_CAPABILITIES = { sendToDevice: [PING, BARRIER], receiveToDevice: [PING, BARRIER] };

/** Every response the host posted to the widget's `send_to_device` requests, in order. */
function sendResponses(frame: Frame): unknown[] {
  return frame.toWidget
    .map((message) => message as { api?: string; action?: string; response?: unknown })
    .filter((m) => m.api === "fromWidget" && m.action === "send_to_device" && m.response)
    .map((m) => m.response);
}

/** Alice and Bob in a call, both on Element Call's embedded client. */
async function call(options: { policy?: EncryptionPolicyMode; roomEncrypted?: boolean } = {}) {
  const world = createWorld();
  const binding = { roomEncrypted: options.roomEncrypted ?? true };
  const driver = { encryptionPolicy: options.policy ?? "strict" };
  const join = (userId: string, deviceId: string) =>
    world.join(world.device(userId, deviceId, driver), {
      capabilities: PING_CAPABILITIES,
      binding,
    });
  const alice = await join(ALICE, "ALICEDEV");
  const bob = await join(BOB, "BOBDEV");
  return { world, alice, bob };
}

/** Alice sends Bob an encrypted barrier and waits until his widget has it. */
async function barrier(alice: Participant, bob: Participant): Promise<void> {
  await alice.client.encryptAndSendToDevice(BARRIER, [bob], { barrier: true });
  await eventually(() => bob.toDevice.some((e) => e.type === BARRIER), "the barrier");
}

/** What reached Bob's device, barrier excluded: type and whether it was encrypted. */
const onBobsDevice = (bob: Participant) =>
  bob.host.transport.received
    .filter((r) => r.message.type !== BARRIER)
    .map((r) => ({ type: r.message.type, encrypted: r.encryptionInfo !== null }));

describe("cleartext and encryption under each policy", () => {
  const rows: Array<{
    policy: EncryptionPolicyMode;
    roomEncrypted: boolean;
    call: "sendToDevice" | "encryptAndSendToDevice";
    outcome: "cleartext" | "encrypted" | "refused";
    widgetSees: boolean;
  }> = [
    {
      policy: "strict",
      roomEncrypted: false,
      call: "sendToDevice",
      outcome: "cleartext",
      widgetSees: true,
    },
    {
      policy: "strict",
      roomEncrypted: true,
      call: "sendToDevice",
      outcome: "refused",
      widgetSees: false,
    },
    {
      policy: "strict",
      roomEncrypted: false,
      call: "encryptAndSendToDevice",
      outcome: "encrypted",
      widgetSees: true,
    },
    {
      policy: "strict",
      roomEncrypted: true,
      call: "encryptAndSendToDevice",
      outcome: "encrypted",
      widgetSees: true,
    },
    {
      policy: "obey-widget",
      roomEncrypted: false,
      call: "sendToDevice",
      outcome: "cleartext",
      widgetSees: true,
    },
    // Sent in cleartext, and then dropped by the receiving driver: cleartext never reaches a
    // widget in an encrypted room (docs/protocol.md section 7).
    {
      policy: "obey-widget",
      roomEncrypted: true,
      call: "sendToDevice",
      outcome: "cleartext",
      widgetSees: false,
    },
    {
      policy: "obey-widget",
      roomEncrypted: false,
      call: "encryptAndSendToDevice",
      outcome: "encrypted",
      widgetSees: true,
    },
  ];

  it.each(rows)(
    "$policy, encrypted room $roomEncrypted: $call is $outcome",
    async ({ policy, roomEncrypted, call: method, outcome, widgetSees }) => {
      const { alice, bob } = await call({ policy, roomEncrypted });
      const sending =
        method === "sendToDevice"
          ? alice.client.sendToDevice(PING, new Map([[BOB, new Map([["BOBDEV", { n: 1 }]])]]))
          : alice.client.encryptAndSendToDevice(PING, [bob], { n: 1 });

      if (outcome === "refused") await expect(sending).rejects.toThrow(/no downgrade/);
      else await sending;
      await barrier(alice, bob);

      expect(onBobsDevice(bob)).toEqual(
        outcome === "refused" ? [] : [{ type: PING, encrypted: outcome === "encrypted" }],
      );
      expect(bob.toDevice.filter((e) => e.type === PING)).toEqual(
        widgetSees
          ? [{ type: PING, sender: ALICE, encrypted: outcome === "encrypted", content: { n: 1 } }]
          : [],
      );
    },
  );
});

describe("failures", () => {
  it("partial failure: encryptAndSendToDevice resolves; the driver's failures reach the widget but not the caller", async () => {
    const { alice, bob } = await call();

    await expect(
      alice.client.encryptAndSendToDevice(PING, [bob, { userId: BOB, deviceId: "GONE" }], { n: 1 }),
    ).resolves.toBeUndefined();
    await eventually(() => bob.toDevice.length === 1, "Bob's message");

    expect(sendResponses(alice.frame)).toEqual([
      { failures: { [BOB]: { GONE: "unknown_device" } } },
    ]);
  });

  it("partial failure: the key transport counts the key as sent and the reached device has it", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));
    const bob = await world.join(world.device(BOB, "BOBDEV"));

    await alice.keyTransport.sendKey("a2V5", 0, [
      ...members([alice, bob]),
      { userId: CAROL, deviceId: "CAROLDEV", membershipTs: 0 },
    ]);
    await eventually(() => bob.keys.length === 1, "Bob's key");

    expect(alice.statistics.counters.roomEventEncryptionKeysSent).toBe(1);
    expect(sendResponses(alice.frame)).toEqual([
      { failures: { [CAROL]: { CAROLDEV: "unknown_device" } } },
    ]);
  });

  it("nobody reached: encryptAndSendToDevice rejects with the driver's error", async () => {
    const { world, alice } = await call();

    await expect(
      alice.client.encryptAndSendToDevice(PING, [{ userId: BOB, deviceId: "GONE" }], { n: 1 }),
    ).rejects.toThrow(/no device received the message/);
    expect(world.homeserver.sendLog).toEqual([]);
  });

  it("nobody reached: the key transport swallows the error and still counts the key as sent", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));

    // matrix-js-sdk 43's ToDeviceKeyTransport.sendKey catches every error but "not supported".
    await expect(
      alice.keyTransport.sendKey("a2V5", 0, [
        ...members([alice]),
        { userId: BOB, deviceId: "GONE", membershipTs: 0 },
      ]),
    ).resolves.toBeUndefined();

    expect(alice.statistics.counters.roomEventEncryptionKeysSent).toBe(1);
    expect(world.homeserver.sendLog).toEqual([]);
    expect(sendResponses(alice.frame)).toEqual([
      {
        error: {
          message: expect.stringContaining("no device received the message"),
          failures: { [BOB]: { GONE: "unknown_device" } },
        },
      },
    ]);
  });

  it("homeserver 4xx: encryptAndSendToDevice rejects with a MatrixError carrying the status; no retry, nothing delivered", async () => {
    const { world, alice, bob } = await call();
    world.homeserver.failNextSends({ kind: "http_error", status: 403, errcode: "M_FORBIDDEN" });

    const error = await alice.client.encryptAndSendToDevice(PING, [bob], { n: 1 }).catch((e) => e);
    await barrier(alice, bob);

    expect(error).toBeInstanceOf(MatrixError);
    expect(error).toMatchObject({ httpStatus: 403, errcode: "M_FORBIDDEN" });
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([403, 200]);
    expect(onBobsDevice(bob)).toEqual([]);
  });

  it("homeserver 4xx: the key transport swallows the MatrixError and counts the key as sent", async () => {
    const world = createWorld();
    const alice = await world.join(world.device(ALICE, "ALICEDEV"));
    const bob = await world.join(world.device(BOB, "BOBDEV"));
    world.homeserver.failNextSends({ kind: "http_error", status: 403, errcode: "M_FORBIDDEN" });

    await expect(
      alice.keyTransport.sendKey("a2V5", 0, members([alice, bob])),
    ).resolves.toBeUndefined();

    expect(alice.statistics.counters.roomEventEncryptionKeysSent).toBe(1);
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([403]);
    expect(sendResponses(alice.frame)).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ matrix_api_error: expect.anything() }),
      }),
    ]);
  });

  it("429 then 5xx: retried under one transaction ID, answered once accepted, delivered once", async () => {
    const { world, alice, bob } = await call();
    world.homeserver.failNextSends(
      { kind: "rate_limited", retryAfterMs: 10 },
      { kind: "http_error", status: 502 },
    );

    await expect(
      alice.client.encryptAndSendToDevice(PING, [bob], { n: 1 }),
    ).resolves.toBeUndefined();
    await barrier(alice, bob);

    const [first, ...rest] = world.homeserver.sendLog;
    expect(world.homeserver.sendLog.map((r) => r.outcome)).toEqual([429, 502, 200, 200]);
    expect(rest.slice(0, 2).map((r) => r.txnId)).toEqual([first?.txnId, first?.txnId]);
    expect(onBobsDevice(bob)).toEqual([{ type: PING, encrypted: true }]);
    expect(sendResponses(alice.frame)[0]).toEqual({});
  });

  it("a stock widget's WidgetApi.sendToDevice resolves with the failures of a partial send", async () => {
    const world = createWorld();
    const bob = await world.join(world.device(BOB, "BOBDEV"), { capabilities: PING_CAPABILITIES });
    const { frame, attachment } = world.device(CAROL, "CAROLDEV").open(new ToDeviceOnlyHost());
    await startStockWidget(frame, [PING]);
    await attachment.negotiated;

    const response = await frame.widgetApi.sendToDevice(PING, true, {
      [BOB]: { BOBDEV: { n: 1 }, GONE: { n: 1 } },
    });
    await eventually(() => bob.toDevice.length === 1, "Bob's message");

    expect(response).toEqual({ failures: { [BOB]: { GONE: "unknown_device" } } });
  });
});

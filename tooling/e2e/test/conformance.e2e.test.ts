/**
 * Conformance cases 1 and 9-13 (spec/conformance.md) on a real Synapse with real Olm: Alice's
 * matrix-js-sdk client (Rust crypto) runs the driver through the production transport; real
 * matrix-widget-api widgets send and receive over postMessage; Bob's and Carol's real clients
 * receive and decrypt. Bob and Carol share no room with Alice unless a test says so, so the
 * transport must make their device lists trackable itself.
 */
import { FORMAT_RECIPIENTS } from "@widget-todevice/codec";
import type { UserSession } from "@widget-todevice/homeserver";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
  stopAllClients,
  userWithDevices,
  waitUntilClientKnows,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2eHost, hostOn, PING, receive, send } from "./support/widgets.js";

afterAll(() => stopAllClients());

const pings = (c: StartedClient) => c.received.filter((r) => r.message.type === PING);
const contents = (c: StartedClient) =>
  pings(c).map((r) => r.message.content as Record<string, unknown>);
const ENVELOPE = ["keys", "recipient", "recipient_keys", "sender_device_keys"];

/**
 * Waits for a barrier: a message sent after the one that must not arrive, from the same device
 * (Alice's) to the same device. Messages to one device arrive in order, so once the barrier is
 * in, the earlier one would have been too.
 */
async function barrierAt(c: StartedClient, n: string): Promise<void> {
  await eventually(() => contents(c).some((x) => x.n === n), `the barrier ${n} at ${c.deviceId}`);
}

let alice: StartedClient;
let aliceHost: E2eHost;
let bob: StartedClient[]; // three devices
let bobSessions: UserSession[];
let carol: StartedClient[]; // two devices
let carolSessions: UserSession[];
/** Alice's rooms for her widgets: one cleartext, one encrypted (Alice alone in both). */
let clearRoom: string;
let secretRoom: string;

beforeAll(async () => {
  const hs = homeserver();
  alice = await startClient(await hs.registerUser());
  bobSessions = await userWithDevices(hs, 3);
  bob = await Promise.all(bobSessions.map((s) => startClient(s)));
  carolSessions = await userWithDevices(hs, 2);
  carol = await Promise.all(carolSessions.map((s) => startClient(s)));
  clearRoom = await encryptedRoom(alice, [], false);
  secretRoom = await encryptedRoom(alice, [], true);
  aliceHost = hostOn(alice);
});

function bobDevice(i: number): StartedClient {
  const device = bob[i];
  if (device === undefined) throw new Error(`no Bob device ${i}`);
  return device;
}

describe("conformance 1: a stock matrix-widget-api widget, legacy format", () => {
  it("Bob's device decrypts {hello: world} of type org.example.ping; the widget gets {}", async () => {
    const b = bobDevice(0);
    const before = pings(b).length;
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.widgetApi.sendToDevice(PING, true, {
      [b.userId]: { [b.deviceId]: { hello: "world" } },
    });
    expect(reply).toEqual({});
    const got = await eventually(() => pings(b)[before], "Bob's message");
    expect(got.message.content).toEqual({ hello: "world" });
    expect(got.encryptionInfo).toMatchObject({
      sender: alice.userId,
      senderDevice: alice.deviceId,
    });
    // Only the addressed device got it.
    const other = bobDevice(1);
    await frame.widgetApi.sendToDevice(PING, true, {
      [other.userId]: { [other.deviceId]: { n: "c1-barrier" } },
    });
    await barrierAt(other, "c1-barrier");
    expect(pings(other).map((r) => r.message.content)).not.toContainEqual({
      hello: "world",
    });
  });
});

describe("conformance 9: the room's encryption decides, never a downgrade", () => {
  it("refuses encrypted: false from a widget in an encrypted room, and sends nothing", async () => {
    const b = bobDevice(0);
    const { frame } = await aliceHost.widget(
      { roomId: secretRoom },
      { capabilities: [send(PING)] },
    );
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      messages: { [b.userId]: { [b.deviceId]: { n: "downgrade" } } },
    });
    expect(reply.ok).toBe(false);
    const barrier = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [b.userId]: { [b.deviceId]: { n: "downgrade-barrier" } } },
    });
    expect(barrier).toEqual({ ok: true, response: {} });
    await barrierAt(b, "downgrade-barrier");
    expect(contents(b)).not.toContainEqual({ n: "downgrade" });
  });

  it("encrypts encrypted: true from a widget in a cleartext room", async () => {
    const b = bobDevice(1);
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [b.userId]: { [b.deviceId]: { n: "upgrade" } } },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    const got = await eventually(
      () => pings(b).find((r) => (r.message.content as { n?: string }).n === "upgrade"),
      "the encrypted message",
    );
    expect(got.encryptionInfo).not.toBeNull();
  });

  it("encrypts a recipients-format request without a flag in an encrypted room", async () => {
    const b = bobDevice(2);
    const { frame } = await aliceHost.widget(
      { roomId: secretRoom },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [b.userId]: [b.deviceId] },
      content: { n: "default" },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    const got = await eventually(
      () => pings(b).find((r) => (r.message.content as { n?: string }).n === "default"),
      "the encrypted message",
    );
    expect(got.encryptionInfo?.senderDevice).toBe(alice.deviceId);
  });

  it("sends cleartext when a widget in a cleartext room asks for it", async () => {
    const b = bobDevice(0);
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.widgetApi.sendToDevice(PING, false, {
      [b.userId]: { [b.deviceId]: { n: "clear" } },
    });
    expect(reply).toEqual({});
    const got = await eventually(
      () => pings(b).find((r) => (r.message.content as { n?: string }).n === "clear"),
      "the cleartext message",
    );
    expect(got.encryptionInfo).toBeNull();
  });
});

describe("receiving: conformance 10 and 11 on Bob's client running the driver", () => {
  let bobHost: E2eHost;
  beforeAll(() => {
    bobHost = hostOn(bobDevice(0));
  });

  it("11: an encrypted message reaches the widget with exactly the protocol's fields", async () => {
    const b = bobDevice(0);
    const bobRoom = await encryptedRoom(b, [], false);
    const newer = await bobHost.widget(
      { roomId: bobRoom },
      { capabilities: [receive(PING)], advertisesFormats: [FORMAT_RECIPIENTS] },
    );
    const stock = await bobHost.widget({ roomId: bobRoom }, { capabilities: [receive(PING)] });
    const before = pings(b).length;
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    await frame.widgetApi.sendToDevice(PING, true, {
      [b.userId]: { [b.deviceId]: { hello: "fields" } },
    });
    const raw = await eventually(() => pings(b)[before], "Bob's client to decrypt it");
    // The real decrypted event carries Olm envelope fields: the driver must not pass them on.
    expect(ENVELOPE.some((field) => field in raw.message)).toBe(true);

    const forNewer = await eventually(() => newer.frame.received[0], "the newer widget's message");
    expect(forNewer).toEqual({
      type: PING,
      sender: alice.userId,
      encrypted: true,
      content: { hello: "fields" },
      sender_device: alice.deviceId,
      sender_verified: false,
    });
    const forStock = await eventually(() => stock.frame.received[0], "the stock widget's message");
    expect(forStock).toEqual({
      type: PING,
      sender: alice.userId,
      encrypted: true,
      content: { hello: "fields" },
    });
  });

  it("10: a cleartext message claiming to be encrypted arrives as encrypted: false, or not at all", async () => {
    const b = bobDevice(0);
    const bobClear = await encryptedRoom(b, [], false);
    const bobSecret = await encryptedRoom(b, [], true);
    const inClear = await bobHost.widget(
      { roomId: bobClear },
      { capabilities: [receive(PING)], advertisesFormats: [FORMAT_RECIPIENTS] },
    );
    const inSecret = await bobHost.widget(
      { roomId: bobSecret },
      { capabilities: [receive(PING)], advertisesFormats: [FORMAT_RECIPIENTS] },
    );
    // Alice's client sends raw cleartext that says "encrypted" in its content.
    const content = { hello: "spoof", encrypted: true };
    await alice.client.sendToDevice(
      PING,
      new Map([[b.userId, new Map([[b.deviceId, content]])]]),
      `spoof-${Date.now()}`,
    );
    const got = await eventually(() => inClear.frame.received[0], "the cleartext widget's message");
    expect(got).toEqual({ type: PING, sender: alice.userId, encrypted: false, content });
    // A barrier the widget in the encrypted room takes: encrypted, from Alice's device to the
    // same device, after the cleartext one.
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    await frame.widgetApi.sendToDevice(PING, true, {
      [b.userId]: { [b.deviceId]: { hello: "barrier" } },
    });
    await eventually(() => inSecret.frame.received[0], "the barrier in the encrypted room");
    expect(inSecret.frame.received.map((m) => m.content)).toEqual([{ hello: "barrier" }]);
  });
});

describe("conformance 12: encrypted * reaches every device of the user", () => {
  it("including one that logged in after Alice's client started and after she tracked Bob", async () => {
    const hs = homeserver();
    const { frame } = await aliceHost.widget(
      { roomId: clearRoom },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    // Alice's client tracks Bob's three devices now.
    const first = await frame.send({
      type: PING,
      recipient_devices: { [bobDevice(0).userId]: ["*"] },
      content: { n: "star-1" },
      encrypted: true,
    });
    expect(first).toEqual({ ok: true, response: {} });
    for (const b of bob)
      await eventually(() => contents(b).some((c) => c.n === "star-1"), `star-1 at ${b.deviceId}`);

    // Bob logs in on a fourth device; Bob shares no room with Alice, so no device-list update
    // reaches her client through /sync.
    const session = bobSessions[0] as UserSession;
    const late = await startClient(await hs.login(session.userId, session.password));
    const second = await frame.send({
      type: PING,
      recipient_devices: { [late.userId]: ["*"] },
      content: { n: "star-2" },
      encrypted: true,
    });
    expect(second).toEqual({ ok: true, response: {} });
    for (const b of [...bob, late]) {
      const got = await eventually(
        () => pings(b).find((r) => (r.message.content as { n?: string }).n === "star-2"),
        `star-2 at ${b.deviceId}`,
      );
      expect(got.encryptionInfo?.senderDevice).toBe(alice.deviceId);
      expect(contents(b).filter((c) => c.n === "star-2")).toHaveLength(1);
    }
  });

  it("in a shared encrypted room, a device that logs in later is learnt through sync", async () => {
    const hs = homeserver();
    const [c0, c1] = carol as [StartedClient, StartedClient];
    const shared = await encryptedRoom(alice, [c0, c1], true);
    const { frame } = await aliceHost.widget(
      { roomId: shared },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    expect(
      await frame.send({
        type: PING,
        recipient_devices: { [c0.userId]: ["*"] },
        content: { n: "room-1" },
      }),
    ).toEqual({ ok: true, response: {} });
    const password = (carolSessions[0] as UserSession).password;
    const late = await startClient(await hs.login(c0.userId, password));
    // Synapse tells Alice's client through /sync that Carol's device list changed.
    await waitUntilClientKnows(alice, c0.userId, late.deviceId);
    const reply = await frame.send({
      type: PING,
      recipient_devices: { [c0.userId]: ["*"] },
      content: { n: "room-2" },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    for (const c of [c0, c1, late])
      await eventually(() => contents(c).some((x) => x.n === "room-2"), `room-2 at ${c.deviceId}`);
  });
});

describe("conformance 13 and missing recipients", () => {
  it("13: a device that does not exist is reported unknown_device; the others still get it", async () => {
    const b = bobDevice(1);
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [b.userId]: { NOPE: { n: "thirteen" }, [b.deviceId]: { n: "thirteen" } } },
    });
    expect(reply).toEqual({
      ok: true,
      response: { failures: { [b.userId]: { NOPE: "unknown_device" } } },
    });
    await eventually(
      () => contents(b).some((c) => c.n === "thirteen"),
      "the existing device's copy",
    );
  });

  it("a user with no devices is reported no_devices; cleartext * still reaches the others", async () => {
    const hs = homeserver();
    const nobody = await hs.registerUser();
    const logout = await fetch(`${hs.baseUrl}/_matrix/client/v3/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${nobody.accessToken}` },
    });
    expect(logout.ok).toBe(true);
    const b = bobDevice(2);
    const { frame } = await aliceHost.widget(
      { roomId: clearRoom },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const encrypted = await frame.send({
      type: PING,
      encrypted: true,
      recipient_devices: { [nobody.userId]: ["*"], [b.userId]: [b.deviceId] },
      content: { n: "nobody" },
    });
    expect(encrypted).toEqual({
      ok: true,
      response: { failures: { [nobody.userId]: { "*": "no_devices" } } },
    });
    await eventually(() => contents(b).some((c) => c.n === "nobody"), "Bob's copy");

    // Only nobody: nothing was delivered, so it is an error naming the failure.
    const alone = await frame.send({
      type: PING,
      encrypted: true,
      recipient_devices: { [nobody.userId]: ["*"] },
      content: { n: "nobody-alone" },
    });
    expect(alone.ok).toBe(false);
    if (!alone.ok) expect(alone.data.failures).toEqual({ [nobody.userId]: { "*": "no_devices" } });
  });

  it("cleartext * goes to the homeserver as * and reaches every device", async () => {
    const { frame } = await aliceHost.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.widgetApi.sendToDevice(PING, false, {
      [bobDevice(0).userId]: { "*": { n: "clear-star" } },
    });
    expect(reply).toEqual({});
    for (const b of bob) {
      const got = await eventually(
        () => pings(b).find((r) => (r.message.content as { n?: string }).n === "clear-star"),
        `clear-star at ${b.deviceId}`,
      );
      expect(got.encryptionInfo).toBeNull();
    }
  });
});

describe("outgoing trust", () => {
  it("verified-only withholds Bob's unverified devices and says so", async () => {
    const strictHost = hostOn(alice, { transport: { outgoingTrust: "verified-only" } });
    const b = bobDevice(0);
    const { frame } = await strictHost.widget(
      { roomId: clearRoom },
      { capabilities: [send(PING)] },
    );
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [b.userId]: { [b.deviceId]: { n: "withheld" } } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok)
      expect(reply.data.failures).toEqual({ [b.userId]: { [b.deviceId]: "withheld" } });
    // The barrier goes from a host that trusts Bob's device, on the same client.
    const { frame: open } = await aliceHost.widget(
      { roomId: clearRoom },
      { capabilities: [send(PING)] },
    );
    await open.widgetApi.sendToDevice(PING, true, {
      [b.userId]: { [b.deviceId]: { n: "withheld-barrier" } },
    });
    await barrierAt(b, "withheld-barrier");
    expect(contents(b)).not.toContainEqual({ n: "withheld" });
  });

  it("exclude-insecure withholds devices not cross-signed by their owner", async () => {
    const host = hostOn(alice, { transport: { outgoingTrust: "exclude-insecure" } });
    const b = bobDevice(1);
    const { frame } = await host.widget({ roomId: clearRoom }, { capabilities: [send(PING)] });
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      messages: { [b.userId]: { [b.deviceId]: { n: "insecure" } } },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok)
      expect(reply.data.failures).toEqual({ [b.userId]: { [b.deviceId]: "withheld" } });
  });
});

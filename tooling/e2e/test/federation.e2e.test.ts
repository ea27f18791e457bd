/**
 * Across federation: two real Synapse servers federating over loopback (hs1, hs2), real
 * matrix-js-sdk clients with Rust crypto and real Olm on both, widgets built on the widget
 * package (`@widget-todevice/widget`) on hosts running the driver.
 *
 * Alice is on hs1; Bob (three devices) and Carol (two devices) are on hs2. Bob shares no room
 * with Alice, so the transport must learn his devices by a key query that hs1 forwards to hs2.
 * Alice and Carol share an encrypted room that spans both servers, as a call's room does.
 */
import type { UserSession } from "@widget-todevice/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  sendEncrypted,
  startClient,
  stopAllClients,
  userWithDevices,
  waitForDeviceKeys,
  waitUntilClientKnows,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverOf, startTestFederation, type TestFederation } from "./support/federation.js";
import { type PackageWidget, packageWidget } from "./support/package-widget.js";
import { type E2eHost, hostOn, PING } from "./support/widgets.js";

let fed: TestFederation;
let aliceSession: UserSession;
let alice: StartedClient;
let aliceHost: E2eHost;
let bobSessions: UserSession[];
let bob: StartedClient[];
let carolSessions: UserSession[];
let carol: StartedClient[];
let carolHost: E2eHost;
/** Alice's rooms on hs1 for her widgets: one cleartext, one encrypted, Alice alone in each. */
let clearRoom: string;
/** Created by Alice on hs1, Carol (hs2) joined over federation; encrypted. */
let spanningRoom: string;
/** Carol's own rooms on hs2: encrypted, cleartext. */
let carolRoom: string;
let carolClearRoom: string;

beforeAll(async () => {
  fed = await startTestFederation();
  const { hs1, hs2 } = fed;
  aliceSession = await hs1.registerUser();
  alice = await startClient(aliceSession, { homeserver: hs1 });
  bobSessions = await userWithDevices(hs2, 3);
  bob = await Promise.all(bobSessions.map((s) => startClient(s, { homeserver: hs2 })));
  carolSessions = await userWithDevices(hs2, 2);
  carol = await Promise.all(carolSessions.map((s) => startClient(s, { homeserver: hs2 })));
  clearRoom = await encryptedRoom(alice, [], false);
  spanningRoom = await encryptedRoom(alice, carol, true);
  carolRoom = await encryptedRoom(carol[0] as StartedClient, [], true);
  carolClearRoom = await encryptedRoom(carol[0] as StartedClient, [], false);
  aliceHost = hostOn(alice);
  carolHost = hostOn(carol[0] as StartedClient);
}, 120_000);

afterAll(async () => {
  stopAllClients();
  await fed?.federation.stop();
});

const pings = (c: StartedClient) => c.received.filter((r) => r.message.type === PING);
const withN = (c: StartedClient, n: string) =>
  pings(c).filter((r) => (r.message.content as { n?: string }).n === n);
/** The `n` of each message a widget got, in order. */
const ns = (widget: PackageWidget) => widget.received.map((m) => (m.content as { n?: string }).n);

// Absence is proved with a barrier: a message sent after the one that must not arrive (or must
// not arrive twice), from the same device to the same device. Messages to one device arrive in
// order, across federation too, so once the barrier is in, the earlier one would have been.

describe("a widget on hs1 sends to devices on hs2", () => {
  it("users and rooms really span two servers", () => {
    expect(serverOf(alice.userId)).toBe(fed.hs1.serverName);
    expect(serverOf((bob[0] as StartedClient).userId)).toBe(fed.hs2.serverName);
    expect(fed.hs1.serverName).not.toBe(fed.hs2.serverName);
    const room = alice.client.getRoom(spanningRoom);
    expect(room?.getMember((carol[0] as StartedClient).userId)?.membership).toBe("join");
  });

  it("encrypted, widget package to widget package: Bob's widget on hs2 gets it with the sender's device", async () => {
    const [b0, b1] = bob as [StartedClient, StartedClient];
    // Bob's first device runs the driver with a widget-package widget that receives: a global
    // one (a room-bound widget on a scoping host takes only messages scoped to its room).
    const bobHost = hostOn(b0);
    const receiver = await packageWidget(bobHost, null, { receive: [PING] });
    const sender = await packageWidget(aliceHost, clearRoom, { send: [PING] });
    expect(sender.negotiation.format).toBe("scoped");

    const started = Date.now();
    const receipt = await sender.widget.send(
      PING,
      { [b0.userId]: [b0.deviceId, b1.deviceId] },
      { n: "encrypted" },
      { encrypted: true },
    );
    expect(receipt.failures).toEqual({});
    const got = await eventually(() => receiver.received[0], "Bob's widget's message", 20_000);
    const ms = Date.now() - started;
    expect(got).toEqual({
      type: PING,
      sender: alice.userId,
      encrypted: true,
      content: { n: "encrypted" },
      sender_device: alice.deviceId,
      sender_verified: false,
    });
    // Bob's second device (no driver) decrypted its own copy.
    const other = await eventually(() => withN(b1, "encrypted")[0], "Bob's second device");
    expect(other.encryptionInfo?.senderDevice).toBe(alice.deviceId);
    const barrier = await sender.widget.send(
      PING,
      { [b0.userId]: [b0.deviceId, b1.deviceId] },
      { n: "encrypted-barrier" },
      { encrypted: true },
    );
    expect(barrier.failures).toEqual({});
    await eventually(
      () => ns(receiver).includes("encrypted-barrier"),
      "the barrier at Bob's widget",
      20_000,
    );
    await eventually(() => withN(b1, "encrypted-barrier")[0], "the barrier at Bob's second device");
    expect(ns(receiver)).toEqual(["encrypted", "encrypted-barrier"]);
    expect(withN(b1, "encrypted")).toHaveLength(1);
    console.info(`federated encrypted send to a widget: ${ms} ms`);
  });

  it("cleartext, to one listed device and as * (which hs2 fans out)", async () => {
    const sender = await packageWidget(aliceHost, clearRoom, { send: [PING] });
    const [b0] = bob as [StartedClient];
    const one = await sender.widget.send(
      PING,
      { [b0.userId]: [b0.deviceId] },
      { n: "clear-one" },
      { encrypted: false },
    );
    expect(one.failures).toEqual({});
    const got = await eventually(() => withN(b0, "clear-one")[0], "the cleartext message");
    expect(got.encryptionInfo).toBeNull();
    expect(got.message.sender).toBe(alice.userId);

    const star = await sender.widget.send(
      PING,
      { [b0.userId]: "*" },
      { n: "clear-star" },
      { encrypted: false },
    );
    expect(star.failures).toEqual({});
    for (const b of bob) {
      const copy = await eventually(() => withN(b, "clear-star")[0], `clear-star at ${b.deviceId}`);
      expect(copy.encryptionInfo).toBeNull();
    }
    const barrier = await sender.widget.send(
      PING,
      { [b0.userId]: "*" },
      { n: "clear-star-barrier" },
      { encrypted: false },
    );
    expect(barrier.failures).toEqual({});
    for (const b of bob)
      await eventually(() => withN(b, "clear-star-barrier")[0], `the barrier at ${b.deviceId}`);
    for (const b of bob) expect(withN(b, "clear-star")).toHaveLength(1);
  });

  it("encrypted * to a remote user with several devices, then one more that logged in on hs2 after Alice started", async () => {
    const sender = await packageWidget(aliceHost, clearRoom, { send: [PING] });
    const bobId = (bob[0] as StartedClient).userId;
    const first = await sender.widget.send(
      PING,
      { [bobId]: "*" },
      { n: "star-1" },
      { encrypted: true },
    );
    expect(first.failures).toEqual({});
    for (const b of bob)
      await eventually(() => withN(b, "star-1")[0], `star-1 at ${b.deviceId}`, 20_000);

    // Bob shares no room with Alice: no device-list update for him reaches hs1 or her client.
    const session = bobSessions[0] as UserSession;
    const late = await startClient(await fed.hs2.login(session.userId, session.password), {
      homeserver: fed.hs2,
    });
    const second = await sender.widget.send(
      PING,
      { [bobId]: "*" },
      { n: "star-2" },
      { encrypted: true },
    );
    expect(second.failures).toEqual({});
    for (const b of [...bob, late]) {
      const got = await eventually(() => withN(b, "star-2")[0], `star-2 at ${b.deviceId}`, 20_000);
      expect(got.encryptionInfo?.senderDevice).toBe(alice.deviceId);
    }
    const barrier = await sender.widget.send(
      PING,
      { [bobId]: "*" },
      { n: "star-barrier" },
      { encrypted: true },
    );
    expect(barrier.failures).toEqual({});
    for (const b of [...bob, late])
      await eventually(() => withN(b, "star-barrier")[0], `the barrier at ${b.deviceId}`, 20_000);
    for (const b of [...bob, late]) expect(withN(b, "star-2")).toHaveLength(1);
  });

  it("encrypted * in the room spanning both servers, to a device that logged in later (learnt from hs2's device-list update)", async () => {
    const sender = await packageWidget(aliceHost, spanningRoom, { send: [PING] });
    const carolId = (carol[0] as StartedClient).userId;
    expect((await sender.widget.send(PING, { [carolId]: "*" }, { n: "room-1" })).failures).toEqual(
      {},
    );
    const session = carolSessions[0] as UserSession;
    const late = await startClient(await fed.hs2.login(session.userId, session.password), {
      homeserver: fed.hs2,
    });
    // hs2 tells hs1 (an EDU), hs1 tells Alice's client through /sync.
    await waitForDeviceKeys(fed.hs1, aliceSession, carolId, late.deviceId);
    await waitUntilClientKnows(alice, carolId, late.deviceId);
    const reply = await sender.widget.send(PING, { [carolId]: "*" }, { n: "room-2" });
    expect(reply.failures).toEqual({});
    for (const c of [...carol, late]) {
      const got = await eventually(() => withN(c, "room-2")[0], `room-2 at ${c.deviceId}`, 20_000);
      // The widget sits in an encrypted room: encrypted without asking.
      expect(got.encryptionInfo?.senderDevice).toBe(alice.deviceId);
    }
  });
});

describe("scoped messages in a room that spans both servers", () => {
  it("hs1 -> hs2: Carol's widget in the same room gets it with the room stamped; her widget in another room does not", async () => {
    const carolId = (carol[0] as StartedClient).userId;
    const inRoom = await packageWidget(carolHost, spanningRoom, { receive: [PING] });
    const elsewhere = await packageWidget(carolHost, carolRoom, { receive: [PING] });
    expect(inRoom.negotiation.scoped).toBe(true);
    expect(elsewhere.negotiation.scoped).toBe(true);
    const sender = await packageWidget(aliceHost, spanningRoom, { send: [PING] });
    const receipt = await sender.widget.send(
      PING,
      { [carolId]: [(carol[0] as StartedClient).deviceId] },
      { n: "scoped" },
      { scope: { id: "org.example.app" } },
    );
    expect(receipt.failures).toEqual({});
    const got = await eventually(() => inRoom.received[0], "the widget in the room", 20_000);
    expect(got).toMatchObject({
      sender: alice.userId,
      encrypted: true,
      sender_device: alice.deviceId,
      scope: { room_id: spanningRoom, id: "org.example.app" },
    });
    expect(got.content).toEqual({
      n: "scoped",
      scope: { room_id: spanningRoom, id: "org.example.app" },
    });
    // Two barriers from Alice's device to Carol's: one scoped to the same room (for the widget in
    // the room), then one scoped to the other room, encrypted by Alice's client itself (none of
    // her widgets sits in Carol's room).
    const c0 = carol[0] as StartedClient;
    const barrier = await sender.widget.send(
      PING,
      { [carolId]: [c0.deviceId] },
      { n: "scoped-barrier" },
      { scope: { id: "org.example.app" } },
    );
    expect(barrier.failures).toEqual({});
    await sendEncrypted(alice, PING, [c0], {
      n: "elsewhere-barrier",
      scope: { room_id: carolRoom, id: "org.example.app" },
    });
    await eventually(
      () => ns(elsewhere).includes("elsewhere-barrier"),
      "the barrier in the other room",
      20_000,
    );
    expect(ns(elsewhere)).toEqual(["elsewhere-barrier"]);
    expect(ns(inRoom)).toEqual(["scoped", "scoped-barrier"]);
    // The driver dropped both scoped ones for the other widget: scoped to another room.
    expect(elsewhere.attachment.stats.dropped).toMatchObject({ other_room: 2 });
  });

  it("hs2 -> hs1: a scoped reply from Carol's widget in the room reaches Alice's widget in the room only", async () => {
    const inRoom = await packageWidget(aliceHost, spanningRoom, { receive: [PING] });
    const elsewhere = await packageWidget(aliceHost, clearRoom, { receive: [PING] });
    const sender = await packageWidget(carolHost, spanningRoom, { send: [PING] });
    const receipt = await sender.widget.send(
      PING,
      { [alice.userId]: [alice.deviceId] },
      { n: "scoped-back" },
      { scope: "auto" },
    );
    expect(receipt.failures).toEqual({});
    const got = await eventually(() => inRoom.received[0], "Alice's widget in the room", 20_000);
    expect(got).toMatchObject({
      sender: (carol[0] as StartedClient).userId,
      encrypted: true,
      sender_device: (carol[0] as StartedClient).deviceId,
      scope: { room_id: spanningRoom },
    });
    // A barrier from Carol's device to Alice's, scoped to the other widget's room, encrypted by
    // Carol's client itself (none of her widgets sits in Alice's room).
    await sendEncrypted(carol[0] as StartedClient, PING, [alice], {
      n: "elsewhere-barrier",
      scope: { room_id: clearRoom, id: "org.example.app" },
    });
    await eventually(
      () => ns(elsewhere).includes("elsewhere-barrier"),
      "the barrier in the other room",
      20_000,
    );
    expect(ns(elsewhere)).toEqual(["elsewhere-barrier"]);
  });
});

describe("receiving on hs1 from hs2", () => {
  it("encrypted and cleartext from Carol's widget on hs2 to Alice's widget on hs1", async () => {
    const receiver = await packageWidget(aliceHost, null, { receive: [PING] });
    const sender = await packageWidget(carolHost, null, { send: [PING] });
    const c0 = carol[0] as StartedClient;
    expect(
      (await sender.widget.send(PING, { [alice.userId]: "*" }, { n: "back-encrypted" })).failures,
    ).toEqual({});
    const encrypted = await eventually(() => receiver.received[0], "the encrypted one", 20_000);
    expect(encrypted).toEqual({
      type: PING,
      sender: c0.userId,
      encrypted: true,
      content: { n: "back-encrypted" },
      sender_device: c0.deviceId,
      sender_verified: false,
    });
    // Cleartext from a widget in Carol's cleartext room.
    const clearSender = await packageWidget(carolHost, carolClearRoom, { send: [PING] });
    expect(
      (
        await clearSender.widget.send(
          PING,
          { [alice.userId]: [alice.deviceId] },
          { n: "back-clear" },
          { encrypted: false },
        )
      ).failures,
    ).toEqual({});
    const clear = await eventually(() => receiver.received[1], "the cleartext one", 20_000);
    expect(clear).toEqual({
      type: PING,
      sender: c0.userId,
      encrypted: false,
      content: { n: "back-clear" },
    });
    const barrier = await clearSender.widget.send(
      PING,
      { [alice.userId]: [alice.deviceId] },
      { n: "back-barrier" },
      { encrypted: false },
    );
    expect(barrier.failures).toEqual({});
    await eventually(() => ns(receiver).includes("back-barrier"), "the barrier", 20_000);
    expect(ns(receiver)).toEqual(["back-encrypted", "back-clear", "back-barrier"]);
  });
});

/**
 * Spoofing on a real Synapse: what another client puts on the wire never reaches a widget as
 * something it is not. Mallory's real client sends raw to-device messages to Bob's device, whose
 * client runs the driver with widgets attached.
 */
import { FORMAT_RECIPIENTS } from "@widget-todevice/codec";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
  stopAllClients,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2eHost, hostOn, PING, receive, send } from "./support/widgets.js";

let mallory: StartedClient;
let bob: StartedClient;
let bobHost: E2eHost;
let clearRoom: string;

beforeAll(async () => {
  const hs = homeserver();
  mallory = await startClient(await hs.registerUser());
  bob = await startClient(await hs.registerUser());
  clearRoom = await encryptedRoom(bob, [], false);
  bobHost = hostOn(bob);
});

afterAll(() => stopAllClients());

const toBob = (content: Record<string, unknown>) =>
  new Map([[bob.userId, new Map([[bob.deviceId, content]])]]);

/** Whether a widget has the marker: Mallory's device to Bob's, sent after what it proves about. */
const hasMarker = (received: ReadonlyArray<Record<string, unknown>>, marker: number) =>
  received.some((m) => (m.content as { marker?: number }).marker === marker);

async function receiver(types: ReadonlyArray<string>, grantEverything = false) {
  return bobHost.widget(
    { roomId: clearRoom },
    {
      capabilities: types.map(receive),
      advertisesFormats: [FORMAT_RECIPIENTS],
      // A careless host approving whatever is asked, reserved types included.
      ...(grantEverything ? { grant: async (requested: Set<string>) => requested } : {}),
    },
  );
}

describe("spoofing", () => {
  it("cleartext claiming to be encrypted, with forged sender facts, arrives as cleartext", async () => {
    const { frame } = await receiver([PING]);
    const forged = {
      hello: "forged",
      encrypted: true,
      sender_device: "TRUSTEDDEV",
      sender_verified: true,
    };
    await mallory.client.sendToDevice(PING, toBob(forged), `forge-${Date.now()}`);
    const got = await eventually(() => frame.received[0], "the widget's message");
    // Exactly four fields: no top-level sender_device or sender_verified for cleartext.
    expect(got).toEqual({ type: PING, sender: mallory.userId, encrypted: false, content: forged });
  });

  it("an m.room.encrypted cleartext with a made-up Olm ciphertext reaches no widget", async () => {
    const { frame } = await receiver([PING, "m.room.encrypted"], true);
    const fake = {
      algorithm: "m.olm.v1.curve25519-aes-sha2",
      sender_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      ciphertext: { nokey: { type: 0, body: "bm90IG9sbQ" } },
      type: PING,
      content: { hello: "smuggled" },
    };
    await mallory.client.sendToDevice("m.room.encrypted", toBob(fake), `fake-olm-${Date.now()}`);
    // A marker from the same device to the same device, sent after it: messages to one device
    // arrive in order and the driver routes them in order, so once the marker is in, the fake
    // one has been through the driver.
    await mallory.client.sendToDevice(PING, toBob({ marker: 1 }), `marker-${Date.now()}`);
    await eventually(() => hasMarker(frame.received, 1), "the marker");
    expect(frame.received).toEqual([
      { type: PING, sender: mallory.userId, encrypted: false, content: { marker: 1 } },
    ]);
  });

  it("Olm envelope fields of a real encrypted message never reach the widget", async () => {
    const { frame } = await receiver([PING]);
    const crypto = mallory.client.getCrypto();
    if (crypto === undefined) throw new Error("no crypto");
    // Mallory's own client encrypts, straight through matrix-js-sdk, a content that tries to
    // set the driver's facts; the real Olm plaintext also carries keys, recipient, ... fields.
    const crafted = { hello: "enveloped", sender_device: "TRUSTEDDEV", sender_verified: true };
    await crypto.getUserDeviceInfo([bob.userId], true);
    // Bob is tracked by sharing an encrypted room (the SDK's own way).
    await encryptedRoom(mallory, [bob], true);
    const batch = await crypto.encryptToDeviceMessages(
      PING,
      [{ userId: bob.userId, deviceId: bob.deviceId }],
      crafted,
    );
    expect(batch.batch).toHaveLength(1);
    await mallory.client.queueToDevice(batch);
    const got = await eventually(() => frame.received[0], "the widget's message");
    expect(got).toEqual({
      type: PING,
      sender: mallory.userId,
      encrypted: true,
      content: crafted,
      sender_device: mallory.deviceId,
      sender_verified: false,
    });
    const raw = bob.received.find((r) => r.message.type === PING && r.encryptionInfo !== null);
    expect(Object.keys(raw?.message ?? {})).toEqual(
      expect.arrayContaining(["keys", "recipient", "recipient_keys"]),
    );
  });

  it("reserved types from another client reach no widget, even one a host granted them", async () => {
    const reserved = ["m.secret.request", "m.room_key_request", "m.key.verification.cancel"];
    const { frame, attachment } = await receiver([...reserved, PING], true);
    for (const type of reserved) {
      await mallory.client.sendToDevice(
        type,
        toBob({ action: "request", requesting_device_id: "X", request_id: "r1", name: "m.x" }),
        `reserved-${type}-${Date.now()}`,
      );
    }
    // The marker comes after them by the same path (see above).
    await mallory.client.sendToDevice(PING, toBob({ marker: 2 }), `marker2-${Date.now()}`);
    await eventually(() => hasMarker(frame.received, 2), "the marker");
    expect(frame.received.map((m) => m.type)).toEqual([PING]);
    // The ones Bob's client handed on were dropped as reserved, not for lack of a capability.
    const arrived = bob.received.filter((r) => reserved.includes(r.message.type)).length;
    expect(arrived).toBeGreaterThan(0);
    expect(attachment.stats.dropped.reserved_type).toBe(arrived);
  });

  it("a widget cannot send a reserved type, even if its host granted it", async () => {
    const host = hostOn(mallory);
    const malloryRoom = await encryptedRoom(mallory, [], false);
    const { frame } = await host.widget(
      { roomId: malloryRoom },
      { capabilities: [send("m.room_key")], grant: async (requested) => requested },
    );
    const reply = await frame.send({
      type: "m.room_key",
      encrypted: true,
      messages: { [bob.userId]: { [bob.deviceId]: { room_id: "!x:localhost" } } },
    });
    expect(reply.ok).toBe(false);
  });
});

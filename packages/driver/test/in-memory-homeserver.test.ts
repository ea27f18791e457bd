/**
 * The in-memory homeserver and transport as public API (widget authors test against them).
 * No fakes: these are the real simulated objects.
 */
import { describe, expect, it, vi } from "vitest";
import { SendToDeviceError } from "../src/index.js";
import { InMemoryHomeserver } from "../src/testing.js";
import { BARRIER, barrierArrival } from "./harness/world.js";

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";

function world() {
  const homeserver = new InMemoryHomeserver();
  const alice = homeserver.addDevice(ALICE, "A1");
  const bob1 = homeserver.addDevice(BOB, "B1", { verified: true });
  const bob2 = homeserver.addDevice(BOB, "B2");
  return { homeserver, alice, bob1, bob2 };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("InMemoryHomeserver", () => {
  it("fans `*` out to every current device and drops unknown device IDs silently", async () => {
    const { alice, bob1, bob2, homeserver } = world();
    await alice.sendToDevice("t", [{ userId: BOB, deviceId: "*", content: { n: 1 } }], "x1");
    await alice.sendToDevice("t", [{ userId: BOB, deviceId: "NOPE", content: { n: 2 } }], "x2");
    await flush();
    expect(bob1.received.map((r) => r.message)).toEqual([
      { type: "t", sender: ALICE, content: { n: 1 } },
    ]);
    expect(bob2.received).toHaveLength(1);
    expect(homeserver.sendLog.map((r) => r.outcome)).toEqual([200, 200]);
  });

  it("keeps per-device order", async () => {
    const { alice, bob1 } = world();
    for (let n = 0; n < 50; n++)
      await alice.sendToDevice("t", [{ userId: BOB, deviceId: "B1", content: { n } }], `o${n}`);
    await flush();
    expect(bob1.received.map((r) => (r.message.content as { n: number }).n)).toEqual([
      ...Array(50).keys(),
    ]);
  });

  it("fails the whole request with 413 when one message is over the cap", async () => {
    const { alice, bob1, bob2 } = world();
    const error = await alice
      .sendToDevice(
        "t",
        [
          { userId: BOB, deviceId: "B1", content: { small: 1 } },
          { userId: BOB, deviceId: "B2", content: { big: "x".repeat(65_536) } },
        ],
        "big",
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendToDeviceError);
    expect(error).toMatchObject({ httpStatus: 413, errcode: "M_TOO_LARGE" });
    // A barrier to both devices, accepted after the refused request, arrives after anything it
    // would have delivered: each device's inbox keeps acceptance order.
    const arrived = Promise.all([barrierArrival(bob1), barrierArrival(bob2)]);
    await alice.sendToDevice(
      "t",
      ["B1", "B2"].map((deviceId) => ({ userId: BOB, deviceId, content: BARRIER })),
      "barrier",
    );
    await arrived;
    expect(bob1.received.map((r) => r.message.content)).toEqual([BARRIER]);
    expect(bob2.received.map((r) => r.message.content)).toEqual([BARRIER]);
  });

  it("never delivers one transaction ID twice", async () => {
    const { alice, bob1, homeserver } = world();
    const message = [{ userId: BOB, deviceId: "B1", content: {} }];
    homeserver.failNextSends({ kind: "connection_dropped", afterDelivery: true });
    await expect(alice.sendToDevice("t", message, "same")).rejects.toMatchObject({
      isNetworkError: true,
    });
    await alice.sendToDevice("t", message, "same");
    await flush();
    expect(bob1.received).toHaveLength(1);
    expect(homeserver.sendLog.map((r) => [r.outcome, r.delivered])).toEqual([
      ["no_answer", true],
      [200, false],
    ]);
  });

  it("produces the faults it is told to, in order", async () => {
    const { alice, homeserver } = world();
    homeserver.failNextSends({ kind: "rate_limited", retryAfterMs: 123 }, { kind: "http_error" });
    const message = [{ userId: BOB, deviceId: "B1", content: {} }];
    await expect(alice.sendToDevice("t", message, "f1")).rejects.toMatchObject({
      httpStatus: 429,
      errcode: "M_LIMIT_EXCEEDED",
      retryAfterMs: 123,
    });
    await expect(alice.sendToDevice("t", message, "f2")).rejects.toMatchObject({ httpStatus: 500 });
    await expect(alice.sendToDevice("t", message, "f3")).resolves.toBeUndefined();
    expect(homeserver.pendingFaults).toBe(0);
  });

  it("takes a request that names one device twice as a JSON body would: the later one wins", async () => {
    const { alice, bob1, bob2, homeserver } = world();
    await alice.sendToDevice(
      "t",
      [
        { userId: BOB, deviceId: "B1", content: { n: 1 } },
        { userId: BOB, deviceId: "B2", content: { n: 2 } },
        { userId: BOB, deviceId: "B1", content: { n: 3 } },
      ],
      "twice",
    );
    // Barrier: once it arrived, everything of the first request has too.
    await alice.sendToDevice("t", [{ userId: BOB, deviceId: "B1", content: { n: 4 } }], "after");
    await vi.waitFor(() => expect(bob1.received.at(-1)?.message.content).toEqual({ n: 4 }));
    expect(bob1.received.map((r) => r.message.content)).toEqual([{ n: 3 }, { n: 4 }]);
    expect(bob2.received.map((r) => r.message.content)).toEqual([{ n: 2 }]);
    expect(homeserver.sendLog[0]).toMatchObject({ outcome: 200, messageCount: 2 });
  });

  it("lists devices, including ones added later and without ones removed", async () => {
    const { alice, homeserver } = world();
    expect(await alice.getUserDevices([BOB], { downloadUncached: false })).toEqual(new Map());
    expect(await alice.getUserDevices([BOB], { downloadUncached: true })).toEqual(
      new Map([[BOB, ["B1", "B2"]]]),
    );
    homeserver.addDevice(BOB, "B3");
    homeserver.removeDevice(BOB, "B1");
    expect(await alice.getUserDevices([BOB], { downloadUncached: false })).toEqual(
      new Map([[BOB, ["B2", "B3"]]]),
    );
    expect(() => homeserver.addDevice(BOB, "B2")).toThrow(/already has/);
  });
});

describe("InMemoryTransport encryption", () => {
  it("produces opaque envelopes the recipient decrypts, with sender device and verification", async () => {
    const { alice, bob1, bob2, homeserver } = world();
    homeserver.setVerified(ALICE, "A1", true);
    const batch = await alice.encryptToDeviceMessages(
      "org.example.ping",
      [
        { userId: BOB, deviceId: "B1" },
        { userId: BOB, deviceId: "GONE" },
      ],
      { secret: "s3cr3t" },
    );
    expect(batch.eventType).toBe("m.room.encrypted");
    expect(batch.failures).toEqual([{ userId: BOB, deviceId: "GONE", reason: "unknown_device" }]);
    expect(JSON.stringify(batch.messages)).not.toContain("s3cr3t");
    const ciphertext = batch.messages[0]?.content ?? {};
    expect(JSON.stringify(ciphertext).length).toBeGreaterThan(1_000); // about a real Olm message
    await alice.sendToDevice(
      batch.eventType,
      [...batch.messages, { userId: BOB, deviceId: "B2", content: ciphertext }],
      "e1",
    );
    await flush();
    expect(bob1.received).toHaveLength(1);
    expect(bob1.received[0]?.message).toMatchObject({
      type: "org.example.ping",
      sender: ALICE,
      content: { secret: "s3cr3t" },
    });
    expect(bob1.received[0]?.encryptionInfo).toEqual({
      sender: ALICE,
      senderDevice: "A1",
      senderVerified: true,
    });
    // A ciphertext for another device cannot be read.
    expect(bob2.received).toEqual([]);
    expect(bob2.undecryptable).toBe(1);
  });

  it("honours outgoing trust and Olm sessions", async () => {
    const { alice, homeserver } = world();
    homeserver.addDevice(BOB, "NOKEYS", { hasOneTimeKeys: false });
    alice.outgoingTrust = "verified-only";
    const batch = await alice.encryptToDeviceMessages(
      "t",
      ["B1", "B2", "NOKEYS"].map((deviceId) => ({ userId: BOB, deviceId })),
      {},
    );
    expect(batch.messages.map((m) => m.deviceId)).toEqual(["B1"]);
    expect(batch.failures.map((f) => [f.deviceId, f.reason])).toEqual([
      ["B2", "withheld"],
      ["NOKEYS", "withheld"],
    ]);
  });

  it("rejects an envelope whose homeserver sender disagrees with the Olm sender", async () => {
    const { alice, bob1, homeserver } = world();
    const mallory = homeserver.addDevice("@mallory:example.org", "M1");
    const batch = await alice.encryptToDeviceMessages("t", [{ userId: BOB, deviceId: "B1" }], {
      n: 1,
    });
    // Mallory replays Alice's ciphertext as her own.
    await mallory.sendToDevice("m.room.encrypted", batch.messages, "replay");
    await flush();
    expect(bob1.received).toEqual([]);
    expect(bob1.undecryptable).toBe(1);
  });

  it("unsubscribes listeners", async () => {
    const { alice, bob1 } = world();
    const seen: unknown[] = [];
    const off = bob1.onToDeviceMessage((m) => seen.push(m));
    await alice.sendToDevice("t", [{ userId: BOB, deviceId: "B1", content: {} }], "u1");
    await flush();
    off();
    await alice.sendToDevice("t", [{ userId: BOB, deviceId: "B1", content: {} }], "u2");
    await flush();
    expect(seen).toHaveLength(1);
    expect(bob1.received).toHaveLength(2);
  });
});

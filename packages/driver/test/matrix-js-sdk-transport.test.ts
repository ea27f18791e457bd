/**
 * MatrixJsSdkTransport's resources, with FAKES: a fake `MatrixClient` (listeners, `getRooms`,
 * `sendToDevice`) and a fake crypto API that stands in for matrix-js-sdk's Rust crypto, including
 * the OlmMachine members the transport reaches for. The same transport runs on a real client
 * with real Olm against Synapse in tooling/e2e/test/matrix-js-sdk-transport.e2e.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import {
  type MatrixJsSdkClient,
  MatrixJsSdkTransport,
  type MatrixJsSdkTransportOptions,
} from "../src/matrix-js-sdk.js";
import { RecordingLogger } from "./harness/world.js";

class FakeUserId {
  constructor(private readonly id: string) {}
  toString(): string {
    return this.id;
  }
}

type Listener = (...args: never[]) => unknown;

function fakeClient() {
  const listeners = new Map<string, Set<Listener>>();
  const tracked = new Set<string>();
  const keyQueries: string[][] = [];
  let outstandingStatus = 0;
  let deviceInfoCalls = 0;
  /** Members of the encrypted rooms this account has joined. */
  const encryptedRooms: Array<Set<string>> = [];
  let mostOutstandingStatus = 0;
  const olmMachine = {
    userId: new FakeUserId("@me:example.org"),
    trackedUsers: async () => new Set([...tracked].map((u) => new FakeUserId(u))),
    updateTrackedUsers: async (users: FakeUserId[]) => {
      for (const user of users) tracked.add(user.toString());
    },
    queryKeysForUsers: (users: FakeUserId[]) => {
      keyQueries.push(users.map(String));
      return {};
    },
  };
  const crypto = {
    olmMachine,
    outgoingRequestsManager: { doProcessOutgoingRequests: async () => undefined },
    outgoingRequestProcessor: { makeOutgoingRequest: async () => undefined },
    // Two devices per user: DEV0 cross-signed by its owner, DEV1 not.
    getUserDeviceInfo: async (users: string[]) => {
      deviceInfoCalls++;
      return new Map(
        users.map((userId) => [
          userId,
          new Map(["DEV0", "DEV1"].map((deviceId) => [deviceId, { deviceId, verified: 0 }])),
        ]),
      );
    },
    getDeviceVerificationStatus: async (_userId: string, deviceId: string) => {
      outstandingStatus++;
      mostOutstandingStatus = Math.max(mostOutstandingStatus, outstandingStatus);
      await Promise.resolve();
      outstandingStatus--;
      return { signedByOwner: deviceId === "DEV0", isVerified: () => false };
    },
    encryptToDeviceMessages: async (
      _type: string,
      devices: Array<{ userId: string; deviceId: string }>,
    ) => ({ batch: devices.map((d) => ({ ...d, payload: { ciphertext: d.deviceId } })) }),
  };
  const client = {
    getCrypto: () => crypto,
    getRooms: () =>
      encryptedRooms.map((members) => ({
        getMyMembership: () => "join",
        hasEncryptionStateEvent: () => true,
        getMember: (userId: string) => (members.has(userId) ? { membership: "join" } : null),
      })),
    sendToDevice: async () => ({}),
    on(event: string, listener: Listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return client;
    },
    off(event: string, listener: Listener) {
      listeners.get(event)?.delete(listener);
      return client;
    },
  };
  return {
    client: client as unknown as MatrixJsSdkClient,
    listenerCount: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
    keyQueries,
    encryptedRooms,
    deviceInfoCalls: () => deviceInfoCalls,
    mostOutstandingStatus: () => mostOutstandingStatus,
  };
}

const transportOn = (
  fake: ReturnType<typeof fakeClient>,
  options: MatrixJsSdkTransportOptions = {},
) => new MatrixJsSdkTransport(fake.client, { logger: new RecordingLogger(), ...options });

describe("MatrixJsSdkTransport resources", () => {
  it("dispose removes every listener it added to the client, and later use fails clearly", async () => {
    const fake = fakeClient();
    const transport = transportOn(fake);
    await transport.getUserDevices(["@bob:example.org"], { downloadUncached: true });
    transport.onToDeviceMessage(() => undefined);
    expect(fake.listenerCount()).toBe(2);
    transport.dispose();
    expect(fake.listenerCount()).toBe(0);
    await expect(
      transport.getUserDevices(["@bob:example.org"], { downloadUncached: true }),
    ).rejects.toThrow(/disposed/);
    expect(() => transport.onToDeviceMessage(() => undefined)).toThrow(/disposed/);
    expect(fake.listenerCount()).toBe(0);
    expect(transport.retained).toEqual({ deviceLists: 0, queriedUsers: 0 });
  });

  it("remembers at most maxCachedUsers users, and still re-queries one it forgot", async () => {
    const fake = fakeClient();
    const transport = transportOn(fake, { maxCachedUsers: 10 });
    const users = Array.from({ length: 50 }, (_, i) => `@u${i}:example.org`);
    for (const userId of users) {
      const lists = await transport.getUserDevices([userId], { downloadUncached: true });
      expect(lists.get(userId)).toEqual(["DEV0", "DEV1"]);
    }
    expect(transport.retained.deviceLists).toBeLessThanOrEqual(10);
    expect(transport.retained.queriedUsers).toBeLessThanOrEqual(10);
    // @u0 was forgotten long ago; it shares no encrypted room, so its keys are queried again.
    fake.keyQueries.length = 0;
    await transport.getUserDevices(["@u0:example.org"], { downloadUncached: true });
    expect(fake.keyQueries).toEqual([["@u0:example.org"]]);
  });

  it("forgets what is too old to be used", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const fake = fakeClient();
      const transport = transportOn(fake, { deviceListMaxAgeMs: 60_000 });
      await transport.getUserDevices(["@old:example.org"], { downloadUncached: true });
      expect(transport.retained).toEqual({ deviceLists: 1, queriedUsers: 1 });
      vi.advanceTimersByTime(31_000); // device lists are kept 30 s
      await transport.getUserDevices(["@new:example.org"], { downloadUncached: true });
      expect(transport.retained).toEqual({ deviceLists: 1, queriedUsers: 2 });
      vi.advanceTimersByTime(60_000); // key-query times: 60 s until due, + 30 s
      await transport.getUserDevices(["@newer:example.org"], { downloadUncached: true });
      expect(transport.retained).toEqual({ deviceLists: 1, queriedUsers: 2 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("answers from its cached device list once the user shares an encrypted room", async () => {
    const fake = fakeClient();
    const transport = transportOn(fake);
    const carol = "@carol:example.org";
    // No shared room yet: tracked and queried by the transport itself.
    await transport.getUserDevices([carol], { downloadUncached: true });
    expect(fake.deviceInfoCalls()).toBe(1);
    // Now /sync keeps Carol's list up to date: the cached one is good.
    fake.encryptedRooms.push(new Set([carol]));
    fake.keyQueries.length = 0;
    const lists = await transport.getUserDevices([carol], { downloadUncached: true });
    expect(lists.get(carol)).toEqual(["DEV0", "DEV1"]);
    expect(fake.deviceInfoCalls()).toBe(1);
    expect(fake.keyQueries).toEqual([]);
  });

  it("answers a send to more users than it caches at once", async () => {
    const fake = fakeClient();
    const transport = transportOn(fake, { maxCachedUsers: 3 });
    const users = Array.from({ length: 8 }, (_, i) => `@u${i}:example.org`);
    const lists = await transport.getUserDevices(users, { downloadUncached: true });
    expect([...lists.keys()]).toEqual(users);
    const batch = await transport.encryptToDeviceMessages(
      "org.example.ping",
      users.map((userId) => ({ userId, deviceId: "DEV0" })),
      {},
    );
    expect(batch.messages).toHaveLength(8);
    expect(batch.failures).toEqual([]);
  });

  it("checks the trust of many devices at once", async () => {
    const fake = fakeClient();
    const transport = transportOn(fake, { outgoingTrust: "exclude-insecure" });
    const users = Array.from({ length: 10 }, (_, i) => `@u${i}:example.org`);
    const devices = users.flatMap((userId) => [
      { userId, deviceId: "DEV0" },
      { userId, deviceId: "DEV1" },
    ]);
    await transport.getUserDevices(users, { downloadUncached: true });
    const batch = await transport.encryptToDeviceMessages("org.example.ping", devices, {});
    expect(fake.mostOutstandingStatus()).toBe(20);
    expect(batch.messages.map((m) => m.deviceId)).toEqual(users.map(() => "DEV0"));
    expect(batch.failures).toEqual(
      users.map((userId) => ({ userId, deviceId: "DEV1", reason: "withheld" })),
    );
  });
});

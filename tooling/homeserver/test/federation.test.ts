import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federation, startFederation, type UserSession } from "../src/index.js";

let federation: Federation;

beforeAll(async () => {
  federation = await startFederation();
});

afterAll(async () => {
  await federation?.stop();
});

interface ToDeviceEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

let txn = 0;

async function sendToDevice(
  baseUrl: string,
  from: UserSession,
  to: UserSession,
  content: Record<string, unknown>,
): Promise<number> {
  txn += 1;
  const response = await fetch(
    `${baseUrl}/_matrix/client/v3/sendToDevice/org.example.ping/fed-${Date.now()}-${txn}`,
    {
      method: "PUT",
      headers: { authorization: `Bearer ${from.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ messages: { [to.userId]: { [to.deviceId]: content } } }),
    },
  );
  await response.arrayBuffer();
  return response.status;
}

/** A /sync position for `session` and a way to read what arrives after it. */
async function inbox(baseUrl: string, session: UserSession) {
  const filter = JSON.stringify({ room: { rooms: [] }, presence: { types: [] } });
  const sync = async (since: string | undefined, timeout: number) => {
    const query = new URLSearchParams({ timeout: String(timeout), filter });
    if (since !== undefined) query.set("since", since);
    const response = await fetch(`${baseUrl}/_matrix/client/v3/sync?${query}`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      next_batch: string;
      to_device?: { events: ToDeviceEvent[] };
    };
  };
  let since = (await sync(undefined, 0)).next_batch;
  const received: ToDeviceEvent[] = [];
  return {
    received,
    /** Syncs until `count` events arrived in all, or the deadline passes. */
    async until(count: number, timeoutMs: number): Promise<ToDeviceEvent[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && Date.now() < deadline) {
        const body = await sync(since, Math.min(5_000, Math.max(0, deadline - Date.now())));
        since = body.next_batch;
        received.push(...(body.to_device?.events ?? []));
      }
      return received;
    },
  };
}

describe("two federating servers on loopback", () => {
  it("names carry their federation ports; each TLS listener presents a certificate from the private CA", async () => {
    const [hs1, hs2] = federation.servers;
    expect(federation.servers).toHaveLength(2);
    expect(hs1?.serverName).toBe(`hs1.localhost:${hs1?.federationPort}`);
    expect(hs2?.serverName).toBe(`hs2.localhost:${hs2?.federationPort}`);
    for (const server of federation.servers) {
      // Node checks the chain against the CA alone and the name against the certificate.
      const { status, body } = await federation.federationGet(
        server,
        "/_matrix/federation/v1/version",
      );
      expect(status).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ server: { name: "Synapse" } });
      const config = JSON.parse(await readFile(`${server.dataDir}/homeserver.yaml`, "utf8"));
      expect(config.federation_domain_whitelist).toEqual(
        federation.servers.map((s) => s.serverName),
      );
      expect(config.trusted_key_servers).toEqual([]);
      // Only the two names resolve inside the chroot, and the resolver reaches nothing.
      expect(await readFile(`${server.dataDir}/hosts`, "utf8")).toContain(
        "127.0.0.1\tlocalhost hs1.localhost hs2.localhost",
      );
      expect(await readFile(`${server.dataDir}/resolv.conf`, "utf8")).toContain(
        "nameserver 127.0.0.1",
      );
    }
  });

  it("delivers a to-device message from a user on one server to a device on the other, both ways", async () => {
    const [hs1, hs2] = federation.servers as [Federation["servers"][0], Federation["servers"][0]];
    const alice = await hs1.registerUser();
    const bob = await hs2.registerUser();
    expect(alice.userId.endsWith(`:${hs1.serverName}`)).toBe(true);
    expect(bob.userId.endsWith(`:${hs2.serverName}`)).toBe(true);

    const bobInbox = await inbox(hs2.baseUrl, bob);
    expect(await sendToDevice(hs1.baseUrl, alice, bob, { hello: "from hs1" })).toBe(200);
    expect(await bobInbox.until(1, 20_000)).toEqual([
      { type: "org.example.ping", sender: alice.userId, content: { hello: "from hs1" } },
    ]);

    const aliceInbox = await inbox(hs1.baseUrl, alice);
    expect(await sendToDevice(hs2.baseUrl, bob, alice, { hello: "from hs2" })).toBe(200);
    expect(await aliceInbox.until(1, 20_000)).toEqual([
      { type: "org.example.ping", sender: bob.userId, content: { hello: "from hs2" } },
    ]);
  });

  it("halts a server and restarts it on the same data dir, keys and ports; what was sent meanwhile arrives once, in order", async () => {
    const [hs1, hs2] = federation.servers as [Federation["servers"][0], Federation["servers"][0]];
    const alice = await hs1.registerUser();
    const bob = await hs2.registerUser();
    const bobInbox = await inbox(hs2.baseUrl, bob);
    const keyBefore = await federation.federationGet(hs2, "/_matrix/key/v2/server");

    await hs2.halt();
    expect(hs2.isRunning()).toBe(false);
    await expect(fetch(`${hs2.baseUrl}/_matrix/client/versions`)).rejects.toThrow();
    // hs1 accepts the messages: delivering them is its job from here on.
    for (const n of [1, 2, 3]) expect(await sendToDevice(hs1.baseUrl, alice, bob, { n })).toBe(200);

    await hs2.restart();
    expect(hs2.isRunning()).toBe(true);
    const keyAfter = await federation.federationGet(hs2, "/_matrix/key/v2/server");
    const keyIds = (body: string) => Object.keys(JSON.parse(body).verify_keys as object);
    expect(keyIds(keyAfter.body)).toEqual(keyIds(keyBefore.body));
    // The account survived (same database).
    expect((await hs2.login(bob.userId, bob.password)).userId).toBe(bob.userId);

    // Synapse retries the transaction it could not deliver: after about 4 s, then 16 s, then
    // every 60 s (with jitter), so the second retry reaches the restarted server.
    const got = await bobInbox.until(3, 60_000);
    expect(got.map((event) => event.content.n)).toEqual([1, 2, 3]);
  }, 120_000);
});

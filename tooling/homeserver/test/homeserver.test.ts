import { existsSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { homeserverClient, startHomeserver, type UserSession } from "../src/index.js";

// The server the vitest global setup started (src/vitest-global-setup.ts).
const homeserver = homeserverClient(inject("homeserver"));

interface ToDeviceEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

let txnCounter = 0;

async function sendToDevice(
  from: UserSession,
  type: string,
  messages: Record<string, Record<string, unknown>>,
): Promise<Response> {
  txnCounter += 1;
  return fetch(
    `${homeserver.baseUrl}/_matrix/client/v3/sendToDevice/${encodeURIComponent(type)}/txn-${Date.now()}-${txnCounter}`,
    {
      method: "PUT",
      headers: { authorization: `Bearer ${from.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ messages }),
    },
  );
}

/** Syncs until an event matching `done` arrives; returns every to-device event seen. */
async function syncToDeviceUntil(
  session: UserSession,
  done: (event: ToDeviceEvent) => boolean,
): Promise<ToDeviceEvent[]> {
  const seen: ToDeviceEvent[] = [];
  let since: string | undefined;
  const filter = JSON.stringify({ room: { rooms: [] }, presence: { types: [] } });
  for (let round = 0; round < 20; round += 1) {
    const query = new URLSearchParams({ timeout: "5000", filter });
    if (since !== undefined) query.set("since", since);
    const response = await fetch(`${homeserver.baseUrl}/_matrix/client/v3/sync?${query}`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      next_batch: string;
      to_device?: { events: ToDeviceEvent[] };
    };
    since = body.next_batch;
    seen.push(...(body.to_device?.events ?? []));
    if (seen.some(done)) return seen;
  }
  throw new Error(`no matching to-device event for ${session.userId}; saw ${JSON.stringify(seen)}`);
}

/** A content object whose canonical JSON (what Synapse measures) is exactly `bytes` long. */
function contentOfSize(bytes: number): Record<string, unknown> {
  const content = { pad: "x".repeat(bytes - '{"pad":""}'.length) };
  expect(JSON.stringify(content).length).toBe(bytes);
  return content;
}

describe("homeserver harness", () => {
  it("registers users with unique IDs and fresh devices", async () => {
    const [a, b] = await Promise.all([homeserver.registerUser(), homeserver.registerUser()]);
    expect(a.userId).toMatch(new RegExp(`^@user-.+:${homeserver.serverName}$`));
    expect(a.userId).not.toBe(b.userId);
    expect(a.deviceId).not.toBe(b.deviceId);

    const again = await homeserver.login(a.userId, a.password, "FIXEDDEVICE");
    expect(again).toMatchObject({ userId: a.userId, deviceId: "FIXEDDEVICE" });
    const other = await homeserver.login(a.userId, a.password);
    expect(other.deviceId).not.toBe(a.deviceId);
  });

  it("delivers a cleartext to-device message from A to B's device with its exact content", async () => {
    const alice = await homeserver.registerUser();
    const bob = await homeserver.registerUser();
    const content = { ping: 1, text: "héllo ✓", nested: { list: [1, "two", null, true] } };

    const response = await sendToDevice(alice, "org.example.ping", {
      [bob.userId]: { [bob.deviceId]: content },
    });
    expect(response.status).toBe(200);

    const events = await syncToDeviceUntil(bob, (event) => event.type === "org.example.ping");
    expect(events).toEqual([{ type: "org.example.ping", sender: alice.userId, content }]);
  });

  // Measured on Synapse 1.160: it checks each message's canonical JSON against 65,536 bytes
  // (MAX_TO_DEVICE_CONTENT_SIZE) and one message over it fails the whole request with 413.
  it("delivers a 65,536-byte message and refuses a 65,537-byte one with 413 M_TOO_LARGE", async () => {
    const alice = await homeserver.registerUser();
    const bob = await homeserver.registerUser();
    const bobSecond = await homeserver.login(bob.userId, bob.password);

    const atLimit = contentOfSize(65_536);
    const fits = await sendToDevice(alice, "org.example.big", {
      [bob.userId]: { [bob.deviceId]: atLimit },
    });
    expect(fits.status).toBe(200);
    const received = await syncToDeviceUntil(bob, (event) => event.type === "org.example.big");
    expect(received.find((event) => event.type === "org.example.big")?.content).toEqual(atLimit);

    const tooLarge = await sendToDevice(alice, "org.example.big", {
      [bob.userId]: {
        [bob.deviceId]: contentOfSize(65_537),
        [bobSecond.deviceId]: { small: true },
      },
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ errcode: "M_TOO_LARGE" });

    // The small message in the refused request was not delivered either.
    const marker = await sendToDevice(alice, "org.example.marker", {
      [bob.userId]: { [bobSecond.deviceId]: { marker: true } },
    });
    expect(marker.status).toBe(200);
    const second = await syncToDeviceUntil(
      bobSecond,
      (event) => event.type === "org.example.marker",
    );
    expect(second.map((event) => event.type)).toEqual(["org.example.marker"]);
  });

  it("starts an independent second server with its own name and port, and stops it cleanly", async () => {
    const other = await startHomeserver({ serverName: "second.localhost", useEnvironment: false });
    try {
      expect(other.baseUrl).not.toBe(homeserver.baseUrl);
      const carol = await other.registerUser("carol");
      expect(carol.userId).toBe("@carol:second.localhost");
    } finally {
      await other.stop();
    }
    await expect(fetch(`${other.baseUrl}/_matrix/client/versions`)).rejects.toThrow();
    expect(other.dataDir !== undefined && existsSync(other.dataDir)).toBe(false);
  });
});

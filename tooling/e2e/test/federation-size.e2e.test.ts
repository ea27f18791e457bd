/**
 * Size across federation: a widget on hs1 sends large encrypted messages to many devices on hs2.
 * The driver chunks the `/sendToDevice` requests to hs1; hs1 carries them to hs2 in federation
 * transactions of its own making. Every remote device (a real Olm account, `LightDevice`)
 * decrypts exactly one copy. One message over Synapse's per-message cap (65,536 bytes after
 * encryption) is reported as `too_large` and does not stop the others.
 */

import {
  type LightDevice,
  lightFleet,
  mapLimited,
} from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  type StartedClient,
  startClient,
  stopAllClients,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestFederation, type TestFederation } from "./support/federation.js";
import { type E2eHost, hostOn, PING, send } from "./support/widgets.js";

let fed: TestFederation;
let alice: StartedClient;
let host: E2eHost;
let fleet: LightDevice[];
let room: string;

beforeAll(async () => {
  fed = await startTestFederation();
  alice = await startClient(await fed.hs1.registerUser(), { homeserver: fed.hs1 });
  fleet = await lightFleet(fed.hs2, 3, 25);
  room = await encryptedRoom(alice, [], true);
  host = hostOn(alice);
}, 180_000);

afterAll(async () => {
  stopAllClients();
  await fed?.federation.stop();
});

const userIds = () => [...new Set(fleet.map((d) => d.userId))];
// About 58 KB per device once encrypted (Olm ciphertext in base64 plus the envelope).
const PAD = 42_000;

/**
 * Syncs `devices` until each has a message with content `n` (a barrier: sent after the messages
 * a test checks, from Alice's device to the same devices; messages to one device arrive in
 * order, so once it is in, any earlier one, a second copy included, would have arrived too).
 */
async function syncUntilEach(devices: ReadonlyArray<LightDevice>, n: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let missing = devices;
  while (missing.length > 0) {
    if (Date.now() > deadline) throw new Error(`${missing.length} devices never got ${n}`);
    await mapLimited(missing, 8, (d) => d.sync());
    missing = missing.filter((d) => !d.received.some((r) => r.content.n === n));
    if (missing.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
}

describe("large fan-outs to another server", () => {
  it("75 devices on hs2, about 4 MB of Olm ciphertext: every device decrypts one copy", async () => {
    const { frame } = await host.widget(
      { roomId: room },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const started = Date.now();
    const reply = await frame.send({
      type: PING,
      recipient_devices: Object.fromEntries(userIds().map((u) => [u, ["*"]])),
      content: { n: "big", pad: "b".repeat(PAD) },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    const replied = Date.now() - started;
    const deadline = Date.now() + 60_000;
    let missing = fleet;
    while (missing.length > 0 && Date.now() < deadline) {
      await mapLimited(missing, 8, (d) => d.sync());
      missing = fleet.filter((d) => !d.received.some((r) => r.content.n === "big"));
      if (missing.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    const delivered = Date.now() - started;
    const barrier = await frame.send({
      type: PING,
      recipient_devices: Object.fromEntries(userIds().map((u) => [u, ["*"]])),
      content: { n: "big-barrier" },
    });
    expect(barrier).toEqual({ ok: true, response: {} });
    await syncUntilEach(fleet, "big-barrier");
    for (const device of fleet) {
      const copies = device.received.filter((r) => r.type === PING && r.content.n === "big");
      expect(copies, `${device.userId} ${device.deviceId}`).toHaveLength(1);
      expect(copies[0]?.encrypted).toBe(true);
      expect(copies[0]?.senderDevice).toBe(alice.deviceId);
      expect(copies[0]?.content.pad).toBe("b".repeat(PAD));
    }
    const megabytes = (fleet.length * 58_000) / 1e6;
    console.info(
      `federated fan-out: ${fleet.length} devices, ~${megabytes.toFixed(1)} MB encrypted; reply after ${replied} ms, all decrypted after ${delivered} ms`,
    );
  });

  it("one message over the cap is too_large; the others of the same send arrive", async () => {
    const { frame } = await host.widget({ roomId: room }, { capabilities: [send(PING)] });
    const [big, ...rest] = fleet.slice(0, 10) as [LightDevice, ...LightDevice[]];
    // Legacy format: one device gets a content that cannot fit once encrypted.
    const messages: Record<string, Record<string, unknown>> = {};
    for (const d of rest) {
      messages[d.userId] ??= {};
      (messages[d.userId] as Record<string, unknown>)[d.deviceId] = {
        n: "mixed",
        pad: "m".repeat(PAD),
      };
    }
    messages[big.userId] ??= {};
    (messages[big.userId] as Record<string, unknown>)[big.deviceId] = {
      n: "mixed",
      pad: "M".repeat(60_000),
    };
    const reply = await frame.send({ type: PING, encrypted: true, messages });
    expect(reply).toEqual({
      ok: true,
      response: { failures: { [big.userId]: { [big.deviceId]: "too_large" } } },
    });
    const deadline = Date.now() + 30_000;
    while (
      !rest.every((d) => d.received.some((r) => r.content.n === "mixed")) &&
      Date.now() < deadline
    ) {
      await mapLimited(rest, 8, (d) => d.sync());
    }
    // The barrier goes to every device of the send, the one refused as too large included.
    const barrier: Record<string, Record<string, unknown>> = {};
    for (const d of [big, ...rest]) {
      barrier[d.userId] ??= {};
      (barrier[d.userId] as Record<string, unknown>)[d.deviceId] = { n: "mixed-barrier" };
    }
    expect(await frame.send({ type: PING, encrypted: true, messages: barrier })).toEqual({
      ok: true,
      response: {},
    });
    await syncUntilEach([big, ...rest], "mixed-barrier");
    for (const d of rest)
      expect(
        d.received.filter((r) => r.content.n === "mixed"),
        d.deviceId,
      ).toHaveLength(1);
    expect(big.received.filter((r) => r.content.n === "mixed")).toEqual([]);
  });
});

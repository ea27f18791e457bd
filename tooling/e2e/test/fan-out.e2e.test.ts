/**
 * Conformance 15 on a real Synapse: one widget send to 300 devices (three users with 100 real
 * Olm devices each) is split into `/sendToDevice` requests within the driver's count and byte
 * limits, and every device decrypts exactly one copy. The requests are watched by a pass-through
 * proxy between Alice's client and Synapse.
 */

import { DEFAULT_CHUNK_LIMITS } from "@widget-todevice/driver";
import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  type LightDevice,
  lightFleet,
  mapLimited,
} from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  recipientDevices,
  type StartedClient,
  startClient,
  stopAllClients,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2eHost, hostOn, PING, send } from "./support/widgets.js";

let proxy: FaultProxy;
let alice: StartedClient;
let host: E2eHost;
let fleet: LightDevice[];
let room: string;

beforeAll(async () => {
  const hs = homeserver();
  proxy = await FaultProxy.start(hs.baseUrl);
  alice = await startClient(await hs.registerUser(), { baseUrl: proxy.url });
  fleet = await lightFleet(hs, 3, 100);
  room = await encryptedRoom(alice, [], false);
  host = hostOn(alice);
}, 300_000);

afterAll(async () => {
  stopAllClients();
  await proxy.stop();
});

const userIds = () => [...new Set(fleet.map((d) => d.userId))];

describe("conformance 15: a send to 300 devices", () => {
  it("encrypted *: chunked within the limits, one decrypted copy per device", async () => {
    const { frame } = await host.widget(
      { roomId: room },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const started = Date.now();
    const reply = await frame.send({
      type: PING,
      encrypted: true,
      recipient_devices: Object.fromEntries(userIds().map((u) => [u, ["*"]])),
      content: { n: "fan-out", pad: "x".repeat(200) },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    const sends = proxy.sends.filter((s) => s.at >= started);
    expect(sends.every((s) => s.outcome === 200)).toBe(true);
    expect(sends.reduce((n, s) => n + s.messageCount, 0)).toBe(300);
    for (const s of sends) {
      expect(s.messageCount).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest);
      expect(s.bodyBytes).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.maxBytesPerRequest);
    }
    // As few requests as the limits allow: 300 messages of ~1.9 KB (~570 KB) fit in one.
    expect(sends).toHaveLength(
      Math.max(
        Math.ceil(300 / DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest),
        Math.ceil(
          sends.reduce((n, s) => n + s.bodyBytes, 0) / DEFAULT_CHUNK_LIMITS.maxBytesPerRequest,
        ),
      ),
    );

    await mapLimited(fleet, 16, (d) => d.sync());
    for (const device of fleet) {
      const copies = device.received.filter((r) => r.type === PING && r.content.n === "fan-out");
      expect(copies, `${device.userId} ${device.deviceId}`).toHaveLength(1);
      expect(copies[0]?.encrypted).toBe(true);
      expect(copies[0]?.senderDevice).toBe(alice.deviceId);
    }
  });

  it("cleartext to 300 listed devices, with small byte limits: every request within them", async () => {
    const small = hostOn(alice, { driver: { chunkLimits: { maxBytesPerRequest: 16 * 1024 } } });
    const { frame } = await small.widget(
      { roomId: room },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const started = Date.now();
    const recipients = recipientDevices(fleet);
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      recipient_devices: recipients,
      content: { n: "clear-fan-out", pad: "y".repeat(300) },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    const sends = proxy.sends.filter((s) => s.at >= started);
    expect(sends.reduce((n, s) => n + s.messageCount, 0)).toBe(300);
    for (const s of sends) expect(s.bodyBytes).toBeLessThanOrEqual(16 * 1024);
    expect(sends.length).toBeGreaterThan(3);
    await mapLimited(fleet, 16, (d) => d.sync());
    for (const device of fleet) {
      const copies = device.received.filter((r) => r.content.n === "clear-fan-out");
      expect(copies, `${device.userId} ${device.deviceId}`).toHaveLength(1);
      expect(copies[0]?.encrypted).toBe(false);
    }
  });
});

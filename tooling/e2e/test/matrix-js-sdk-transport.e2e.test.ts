/**
 * MatrixJsSdkTransport on its own, on a real matrix-js-sdk client with Rust crypto and a real
 * Synapse: the trust of several devices checked at once by the OlmMachine, and `dispose` leaving
 * the client as it found it. (test/matrix-js-sdk-transport.test.ts covers the same with fakes.)
 */

import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
  stopAllClients,
  userWithDevices,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLogger } from "./support/recording-logger.js";
import { PING } from "./support/widgets.js";

const DEVICES_UPDATED = "crypto.devicesUpdated";
const RECEIVED = "receivedToDeviceMessage";

let alice: StartedClient;
let bobs: StartedClient[];

beforeAll(async () => {
  const hs = homeserver();
  alice = await startClient(await hs.registerUser());
  bobs = [];
  for (const session of await userWithDevices(hs, 2)) bobs.push(await startClient(session));
  await encryptedRoom(alice, bobs);
});

afterAll(() => stopAllClients());

describe("MatrixJsSdkTransport on Synapse", () => {
  it("checks several devices' trust at once, sends, and dispose removes its listeners", async () => {
    const client = alice.client;
    const before = {
      devices: client.listenerCount(DEVICES_UPDATED as never),
      received: client.listenerCount(RECEIVED as never),
    };
    const logger = new RecordingLogger();
    const all = new MatrixJsSdkTransport(client, { logger });
    const insecure = new MatrixJsSdkTransport(client, {
      logger,
      outgoingTrust: "exclude-insecure",
    });
    const bob = bobs[0] as StartedClient;
    const devices = [
      ...bobs.map(({ userId, deviceId }) => ({ userId, deviceId })),
      { userId: bob.userId, deviceId: "NOSUCHDEVICE" },
    ];
    const unsubscribe = all.onToDeviceMessage(() => undefined);

    const lists = await all.getUserDevices([bob.userId], { downloadUncached: true });
    expect([...(lists.get(bob.userId) ?? [])].sort()).toEqual(bobs.map((b) => b.deviceId).sort());
    const batch = await all.encryptToDeviceMessages(PING, devices, { n: 1 });
    expect(batch.messages.map((m) => m.deviceId).sort()).toEqual(
      bobs.map((b) => b.deviceId).sort(),
    );
    expect(batch.failures).toEqual([
      { userId: bob.userId, deviceId: "NOSUCHDEVICE", reason: "unknown_device" },
    ]);
    await all.sendToDevice(batch.eventType, batch.messages, `transport-e2e-${Date.now()}`);
    for (const b of bobs) {
      await eventually(
        () => b.received.find((r) => r.message.type === PING && r.encryptionInfo !== null),
        `${b.deviceId}'s encrypted ping`,
      );
    }

    // Neither of Bob's devices is cross-signed: both withheld, each checked by the OlmMachine.
    await insecure.getUserDevices([bob.userId], { downloadUncached: true });
    const withheld = await insecure.encryptToDeviceMessages(PING, devices.slice(0, 2), { n: 2 });
    expect(withheld.messages).toEqual([]);
    expect(withheld.failures.map((f) => f.reason)).toEqual(["withheld", "withheld"]);

    expect(client.listenerCount(DEVICES_UPDATED as never)).toBe(before.devices + 2);
    expect(client.listenerCount(RECEIVED as never)).toBe(before.received + 1);
    all.dispose();
    insecure.dispose();
    unsubscribe(); // after dispose: harmless
    expect(client.listenerCount(DEVICES_UPDATED as never)).toBe(before.devices);
    expect(client.listenerCount(RECEIVED as never)).toBe(before.received);
    expect(all.retained).toEqual({ deviceLists: 0, queriedUsers: 0 });
    await expect(all.encryptToDeviceMessages(PING, devices, {})).rejects.toThrow(/disposed/);
  });
});

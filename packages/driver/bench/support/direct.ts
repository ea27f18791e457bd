// The baseline every table measures the driver against: matrix-js-sdk used directly, as a client
// without widgets would, at its fastest: encrypt once for every device, then one awaited
// `/sendToDevice` request with every ciphertext (no queue, no chunking).

import { recipientDevices } from "@widget-todevice/matrix-clients/matrix";
import type { MatrixClient } from "matrix-js-sdk";
import type { WidgetFrame } from "../../test/harness/widget-frame.js";

export interface Device {
  readonly userId: string;
  readonly deviceId: string;
}

let txn = 0;

/** matrix-js-sdk directly: `encryptToDeviceMessages`, then one `sendToDevice`. */
export async function directSend(
  client: MatrixClient,
  type: string,
  devices: ReadonlyArray<Device>,
  content: Record<string, unknown>,
): Promise<void> {
  const crypto = client.getCrypto();
  if (crypto === undefined) throw new Error("no crypto");
  const batch = await crypto.encryptToDeviceMessages(type, [...devices], content);
  if (batch.batch.length !== devices.length)
    throw new Error(`direct: encrypted for ${batch.batch.length} of ${devices.length} devices`);
  const map = new Map<string, Map<string, Record<string, unknown>>>();
  for (const m of batch.batch) {
    const perUser = map.get(m.userId) ?? new Map<string, Record<string, unknown>>();
    perUser.set(m.deviceId, m.payload);
    map.set(m.userId, perUser);
  }
  await client.sendToDevice(batch.eventType, map, `bench-direct-${Date.now()}-${txn++}`);
}

/** The driver: a widget's `send_to_device` request, until the driver's reply. */
export async function driverSend(
  frame: WidgetFrame,
  type: string,
  devices: ReadonlyArray<Device>,
  content: Record<string, unknown>,
): Promise<void> {
  const reply = await frame.send({ type, recipient_devices: recipientDevices(devices), content });
  if (!reply.ok || Object.keys(reply.response).length > 0)
    throw new Error(`driver send failed: ${JSON.stringify(reply)}`);
}

/** `work()`'s duration in milliseconds. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

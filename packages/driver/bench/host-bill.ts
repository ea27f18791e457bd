// Table 5. What the driver costs the host: memory per attached widget at rest, and the longest
// synchronous stretch of the host's event loop during a send (beyond a 16 ms frame, a host's UI
// stutters), beside the same send by matrix-js-sdk directly.

import { WidgetFrame } from "../test/harness/widget-frame.js";
import { keyContent } from "./reply.js";
import { config } from "./support/config.js";
import { directSend, driverSend } from "./support/direct.js";
import { collectGarbage, longestStretch } from "./support/host-monitor.js";
import type { TableResult, Target } from "./support/report.js";
import { median, ms, quantile } from "./support/stats.js";
import { type BenchWorld, driverFor, PING, widgetOn } from "./support/world.js";

const CAPABILITIES = [
  `org.matrix.msc3819.send.to_device:${PING}`,
  `org.matrix.msc3819.receive.to_device:${PING}`,
];

async function heapUsed(): Promise<number> {
  await collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Bytes per widget: frames alone (both ends of matrix-widget-api), then frames the driver attached. */
async function memoryAtRest(world: BenchWorld, count: number) {
  const { alice, roomId } = await world.sender();
  const heap0 = await heapUsed();
  const plain: WidgetFrame[] = [];
  for (let i = 0; i < count; i++) {
    const frame = new WidgetFrame({
      widgetId: `rest-${i}`,
      capabilities: CAPABILITIES,
      advertisesFormats: ["org.matrix.msc3819.recipient_devices"],
    });
    await frame.load();
    plain.push(frame);
  }
  const heap1 = await heapUsed();
  for (const frame of plain) frame.stop();
  plain.length = 0;
  const heap2 = await heapUsed();
  const driver = driverFor(alice);
  const attached: WidgetFrame[] = [];
  for (let i = 0; i < count; i++) attached.push(await widgetOn(driver, roomId, CAPABILITIES));
  const heap3 = await heapUsed();
  for (const frame of attached) frame.stop();
  driver.dispose();
  const frameBytes = (heap1 - heap0) / count;
  const attachedBytes = (heap3 - heap2) / count;
  return { frameBytes, attachedBytes, driverBytes: attachedBytes - frameBytes };
}

export async function hostBillTable(world: BenchWorld): Promise<TableResult> {
  const { alice, frame, fleet } = await world.sender();
  const rest = await memoryAtRest(world, config.hostBill.widgetsAtRest);
  const rows: string[][] = [];
  const targets: Target[] = [];
  const stretches: Record<number, { driver: number[]; direct: number[] }> = {};
  const sizes = config.hostBill.sizes.filter((n) => n <= fleet.length);
  let round = 2_000_000;
  for (const n of sizes) {
    const devices = fleet.slice(0, n).map((d) => ({ userId: d.userId, deviceId: d.deviceId }));
    await driverSend(frame, PING, devices, keyContent("A", round++));
    await directSend(alice.client, PING, devices, keyContent("A", round++));
    const driver: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < config.hostBill.rounds; i++) {
      driver.push(
        (await longestStretch(() => driverSend(frame, PING, devices, keyContent("A", round++)))).ms,
      );
      direct.push(
        (
          await longestStretch(() =>
            directSend(alice.client, PING, devices, keyContent("A", round++)),
          )
        ).ms,
      );
    }
    stretches[n] = { driver, direct };
    rows.push([
      String(n),
      ms(median(driver)),
      ms(quantile(driver, 0.95)),
      ms(median(direct)),
      ms(quantile(direct, 0.95)),
    ]);
  }
  const largest = sizes[sizes.length - 1] as number;
  const worst = stretches[largest];
  if (worst !== undefined)
    targets.push({
      name: `longest synchronous stretch during a send to ${largest} devices, p95 (ms)`,
      measured: quantile(worst.driver, 0.95),
      limit: 16,
      test: "<=",
    });
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  return {
    id: "host-bill",
    title: "2. The host's bill",
    about: [
      `memory at rest, per widget (${config.hostBill.widgetsAtRest} widgets, heap after GC): ` +
        `the driver's attachment ${kib(rest.driverBytes)} KiB; a widget frame without it ` +
        `(matrix-widget-api's ClientWidgetApi and, in this one-process harness, WidgetApi) ${kib(rest.frameBytes)} KiB`,
      "longest synchronous stretch of the host's event loop during one send (1 ms timer delay,",
      "includes matrix-js-sdk's own encryption, which runs on the same thread), ms:",
    ],
    head: ["devices", "driver median", "driver p95", "direct median", "direct p95"],
    rows,
    targets,
    data: { memoryAtRest: rest, stretches },
  };
}

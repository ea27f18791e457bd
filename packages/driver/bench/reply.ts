// Table 1. A widget's `send_to_device` request until the driver's reply, against matrix-js-sdk
// encrypting and sending the same message directly, for N recipient devices (real Olm, light
// recipient devices on Synapse); and the `/sendToDevice` requests the driver made against the
// minimum its count and byte limits allow.

import { DEFAULT_CHUNK_LIMITS } from "@widget-todevice/driver";
import { config } from "./support/config.js";
import { directSend, driverSend, timed } from "./support/direct.js";
import type { RatioSeries, TableResult, Target } from "./support/report.js";
import { compare, ms, ratio } from "./support/stats.js";
import { type BenchWorld, PING } from "./support/world.js";

/** An Element Call key, as in the rotation tables. */
export function keyContent(deviceId: string, round: number): Record<string, unknown> {
  return {
    keys: [{ index: round % 256, key: Buffer.alloc(32, round).toString("base64") }],
    device_id: deviceId,
    call_id: "",
    sent_ts: Date.now(),
    member: { id: `@bench:localhost:${deviceId}`, claimed_device_id: deviceId },
    session: { application: "m.call", call_id: "", scope: "m.room" },
    round,
  };
}

/** The fewest requests the limits allow for `n` messages of `bytes` in all. */
export function minimumRequests(n: number, bytes: number): number {
  return Math.max(
    Math.ceil(n / DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest),
    Math.ceil(bytes / DEFAULT_CHUNK_LIMITS.maxBytesPerRequest),
  );
}

export async function replyTable(world: BenchWorld): Promise<TableResult> {
  const { alice, frame, fleet } = await world.sender();
  const proxy = await world.proxy();
  const rows: string[][] = [];
  const targets: Target[] = [];
  const points: Array<RatioSeries["points"][number]> = [];
  const samples: Record<string, { driver: number[]; direct: number[] }> = {};
  const sizes = config.reply.sizes.filter((n) => n <= fleet.length);
  let round = 0;
  for (const n of sizes) {
    const devices = fleet.slice(0, n).map((d) => ({ userId: d.userId, deviceId: d.deviceId }));
    const viaDriver = () => timed(() => driverSend(frame, PING, devices, keyContent("A", round++)));
    const direct = () =>
      timed(() => directSend(alice.client, PING, devices, keyContent("A", round++)));
    // Warm-up: Olm sessions are made on the first send, code paths get compiled.
    for (let i = 0; i < config.warmup; i++) {
      await viaDriver();
      await direct();
    }
    const driverTimes: number[] = [];
    const directTimes: number[] = [];
    const requests: number[] = [];
    let bytes = 0;
    for (let i = 0; i < config.reply.rounds(n); i++) {
      // Alternate which path goes first, so neither always runs after the other.
      const measureDriver = async () => {
        const before = proxy.sends.length;
        driverTimes.push(await viaDriver());
        const made = proxy.sends.slice(before);
        requests.push(made.length);
        bytes = Math.max(
          bytes,
          made.reduce((sum, s) => sum + s.bodyBytes, 0),
        );
      };
      if (i % 2 === 0) {
        await measureDriver();
        directTimes.push(await direct());
      } else {
        directTimes.push(await direct());
        await measureDriver();
      }
    }
    const c = compare(driverTimes, directTimes);
    const minimum = minimumRequests(n, bytes);
    const most = Math.max(...requests);
    samples[n] = { driver: driverTimes, direct: directTimes };
    points.push({ n, comparison: c });
    rows.push([
      String(n),
      ms(c.subject.median),
      ms(c.baseline.median),
      ratio(c.medianRatio),
      ms(c.subject.p95),
      ms(c.baseline.p95),
      ratio(c.p95Ratio),
      String(most),
      String(minimum),
      (bytes / 1024).toFixed(0),
    ]);
    targets.push(
      {
        name: `driver reply / direct, N = ${n}, median`,
        measured: c.medianRatio,
        limit: 1.05,
        test: "<=",
      },
      {
        name: `driver reply / direct, N = ${n}, p95`,
        measured: c.p95Ratio,
        limit: 1.05,
        test: "<=",
      },
      {
        name: `/sendToDevice requests / minimum, N = ${n}`,
        measured: most / minimum,
        limit: 1,
        test: "=",
      },
    );
  }
  return {
    id: "reply",
    title: "1. Widget request to driver reply, against matrix-js-sdk directly",
    about: [
      "driver: a widget's send_to_device request until the driver's reply (encrypted, real Olm)",
      "direct: matrix-js-sdk encryptToDeviceMessages + one sendToDevice, awaited, same devices",
      `recipients: light devices of ${config.fleet.users} users; rounds alternate driver and direct`,
      `limits: ${DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest} messages, ${DEFAULT_CHUNK_LIMITS.maxBytesPerRequest / 1024} KiB per request`,
    ],
    head: [
      "devices",
      "driver med ms",
      "direct med ms",
      "ratio",
      "driver p95 ms",
      "direct p95 ms",
      "ratio",
      "requests",
      "minimum",
      "KiB sent",
    ],
    rows,
    targets,
    ratios: [{ label: "driver reply / direct", points, limit: 1.05 }],
    data: { samples },
  };
}

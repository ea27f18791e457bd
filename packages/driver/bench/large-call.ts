// Table 4. Large calls: the key rotation with many participants (each key to every other one)
// and one send to a thousand devices; wall time against matrix-js-sdk directly, `/sendToDevice`
// requests against the minimum, and the host process's peak memory.

import { keyContent, minimumRequests } from "./reply.js";
import { type Rotation, rotate } from "./rotation.js";
import { endCall, oneDeviceEach, startCall } from "./support/call.js";
import { config } from "./support/config.js";
import { directSend, driverSend, timed } from "./support/direct.js";
import { peakMemory } from "./support/host-monitor.js";
import type { Distribution, TableResult, Target } from "./support/report.js";
import { compare, ms, ratio } from "./support/stats.js";
import { type BenchWorld, PING } from "./support/world.js";

const mib = (value: number) => value.toFixed(0);

export async function largeCallTable(world: BenchWorld): Promise<TableResult> {
  const proxy = await world.proxy();
  const rows: string[][] = [];
  const targets: Target[] = [];
  const distributions: Distribution[] = [];

  // ---- a send to every device of the fleet ----
  const { alice, frame, fleet } = await world.sender();
  const devices = fleet.map((d) => ({ userId: d.userId, deviceId: d.deviceId }));
  const n = devices.length;
  let round = 1_000_000;
  for (let i = 0; i < config.warmup; i++) {
    await driverSend(frame, PING, devices, keyContent("A", round++));
    await directSend(alice.client, PING, devices, keyContent("A", round++));
  }
  const fan = {
    driver: [] as number[],
    direct: [] as number[],
    driverMib: [] as number[],
    directMib: [] as number[],
  };
  let requests = 0;
  let bytes = 0;
  const fanRounds = Math.max(3, Math.ceil(config.largeRotation.rounds / 2));
  for (let i = 0; i < fanRounds; i++) {
    const before = proxy.sends.length;
    const d = await peakMemory(() =>
      timed(() => driverSend(frame, PING, devices, keyContent("A", round++))),
    );
    const made = proxy.sends.slice(before);
    requests = Math.max(requests, made.length);
    bytes = Math.max(
      bytes,
      made.reduce((sum, s) => sum + s.bodyBytes, 0),
    );
    const b = await peakMemory(() =>
      timed(() => directSend(alice.client, PING, devices, keyContent("A", round++))),
    );
    fan.driver.push(d.value);
    fan.driverMib.push(d.mib);
    fan.direct.push(b.value);
    fan.directMib.push(b.mib);
  }
  const fanC = compare(fan.driver, fan.direct);
  const fanMinimum = minimumRequests(n, bytes);
  rows.push([
    `send to ${n} devices`,
    ms(fanC.subject.median),
    ms(fanC.baseline.median),
    ratio(fanC.medianRatio),
    ratio(fanC.p95Ratio),
    `${requests} / ${fanMinimum}`,
    mib(Math.max(...fan.driverMib)),
    mib(Math.max(...fan.directMib)),
  ]);
  targets.push(
    {
      name: `send to ${n} devices / direct, median`,
      measured: fanC.medianRatio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: `send to ${n} devices / direct, p95`,
      measured: fanC.p95Ratio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: `/sendToDevice requests / minimum, send to ${n} devices`,
      measured: requests / fanMinimum,
      limit: 1,
      test: "=",
    },
  );

  // ---- the large rotation ----
  const { participants: count, rounds } = config.largeRotation;
  const hs = await world.server();
  const call = await startCall(await oneDeviceEach([hs], count));
  // Requests counted at matrix-js-sdk's `sendToDevice` (one HTTP request each: the driver and
  // the baseline both give a txnId), not through the proxy: fifty long-polling clients
  // through it lost connections on a busy machine.
  let sendCalls = 0;
  for (const { client } of call) {
    const send = client.client.sendToDevice.bind(client.client);
    client.client.sendToDevice = (...args) => {
      sendCalls++;
      return send(...args);
    };
  }
  const driver: Rotation[] = [];
  const direct: Rotation[] = [];
  const driverMib: number[] = [];
  const directMib: number[] = [];
  let rotationRequests = 0;
  try {
    for (let i = 0; i < config.warmup; i++) {
      await rotate(call, "driver");
      await rotate(call, "direct");
    }
    for (let i = 0; i < rounds; i++) {
      const before = sendCalls;
      const d = await peakMemory(() => rotate(call, "driver"));
      rotationRequests = Math.max(rotationRequests, sendCalls - before);
      const b = await peakMemory(() => rotate(call, "direct"));
      driver.push(d.value);
      driverMib.push(d.mib);
      direct.push(b.value);
      directMib.push(b.mib);
    }
  } finally {
    endCall(call);
  }
  const wall = (rs: Rotation[]) => rs.map((r) => r.wallMs);
  const rot = compare(wall(driver), wall(direct));
  // Each participant's key to the others fits one request.
  const rotationMinimum = count * minimumRequests(count - 1, 0);
  rows.push([
    `rotation, ${count} participants`,
    ms(rot.subject.median),
    ms(rot.baseline.median),
    ratio(rot.medianRatio),
    ratio(rot.p95Ratio),
    `${rotationRequests} / ${rotationMinimum}`,
    mib(Math.max(...driverMib)),
    mib(Math.max(...directMib)),
  ]);
  targets.push(
    {
      name: `rotation, ${count} participants / direct, median`,
      measured: rot.medianRatio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: `rotation, ${count} participants / direct, p95`,
      measured: rot.p95Ratio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: `/sendToDevice requests / minimum, rotation of ${count}`,
      measured: rotationRequests / rotationMinimum,
      limit: 1,
      test: "=",
    },
  );
  distributions.push({
    label: `rotation, ${count}, one server`,
    driver: wall(driver),
    baseline: wall(direct),
  });
  return {
    id: "large-call",
    title: "3. Large calls, against matrix-js-sdk directly",
    about: [
      `send: one ~270-byte key to ${n} light devices (${config.fleet.users} users); wall time until the reply / the awaited request`,
      `rotation: ${count} participants (full clients, one device each), each key to the ${count - 1} others, until every key arrived`,
      "requests: /sendToDevice requests of the driver's send (or of all sends of one rotation) / the minimum the limits allow",
      "memory: the host process's peak resident memory during one send or rotation, above what it was before (MiB)",
    ],
    head: [
      "",
      "driver med ms",
      "direct med ms",
      "ratio",
      "p95 ratio",
      "requests",
      "driver MiB",
      "direct MiB",
    ],
    rows,
    targets,
    distributions,
    data: {
      fanOut: { devices: n, ...fan, requests, minimum: fanMinimum, bytes },
      rotation: {
        participants: count,
        driver: wall(driver),
        direct: wall(direct),
        driverMib,
        directMib,
        requests: rotationRequests,
        minimum: rotationMinimum,
      },
      maxRssMib: process.resourceUsage().maxRSS / 1024,
    },
  };
}

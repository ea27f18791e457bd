// Table 2. An Element Call key rotation: every participant sends its new key to every other
// participant at once; the time until every participant has every key. Through the driver
// (widget to widget) and by the same matrix-js-sdk clients directly, in alternating rounds; on
// one Synapse and across two federating ones.

import { keyContent } from "./reply.js";
import {
  DIRECT_TYPE,
  endCall,
  KEY_TYPE,
  oneDeviceEach,
  type Participant,
  startCall,
} from "./support/call.js";
import { config } from "./support/config.js";
import { directSend, driverSend } from "./support/direct.js";
import type { Distribution, TableResult, Target } from "./support/report.js";
import { type Comparison, compare, ms, ratio } from "./support/stats.js";
import type { BenchWorld } from "./support/world.js";

let rounds = 0;

export interface Rotation {
  /** Until the last participant had the last key. */
  readonly wallMs: number;
  /** From the start to each key's arrival. */
  readonly keyMs: ReadonlyArray<number>;
}

/** One rotation through the widgets (`driver`) or the clients directly (`direct`). */
export async function rotate(
  participants: ReadonlyArray<Participant>,
  path: "driver" | "direct",
): Promise<Rotation> {
  const round = ++rounds;
  const type = path === "driver" ? KEY_TYPE : DIRECT_TYPE;
  const t0 = performance.now();
  const sends = participants.map((p) => {
    const others = participants
      .filter((q) => q !== p)
      .map((q) => ({ userId: q.client.userId, deviceId: q.client.deviceId }));
    const content = keyContent(p.client.deviceId, round);
    return path === "driver"
      ? driverSend(p.frame, type, others, content)
      : directSend(p.client.client, type, others, content);
  });
  const expected = participants.length - 1;
  await Promise.all([
    ...sends,
    ...participants.map((p) => p.arrivals.until(type, round, expected)),
  ]);
  const keyMs = participants.flatMap((p) => p.arrivals.times(type, round).map((t) => t - t0));
  return { wallMs: Math.max(...keyMs), keyMs };
}

/** Warm-up, then `count` rounds alternating the paths. */
export async function rotations(
  participants: ReadonlyArray<Participant>,
  count: number,
): Promise<{ driver: Rotation[]; direct: Rotation[] }> {
  for (let i = 0; i < config.warmup; i++) {
    await rotate(participants, "driver");
    await rotate(participants, "direct");
  }
  const driver: Rotation[] = [];
  const direct: Rotation[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      driver.push(await rotate(participants, "driver"));
      direct.push(await rotate(participants, "direct"));
    } else {
      direct.push(await rotate(participants, "direct"));
      driver.push(await rotate(participants, "driver"));
    }
  }
  return { driver, direct };
}

export function rotationRow(label: string, c: Comparison): string[] {
  return [
    label,
    ms(c.subject.median),
    ms(c.baseline.median),
    ratio(c.medianRatio),
    ms(c.subject.p95),
    ms(c.baseline.p95),
    ratio(c.p95Ratio),
  ];
}

export const ROTATION_HEAD = [
  "rotation",
  "driver med ms",
  "direct med ms",
  "ratio",
  "driver p95 ms",
  "direct p95 ms",
  "ratio",
];

export async function rotationTable(world: BenchWorld): Promise<TableResult> {
  const { participants: count, rounds: runs } = config.rotation;
  const measure = async (servers: Awaited<ReturnType<BenchWorld["server"]>>[]) => {
    const call = await startCall(await oneDeviceEach(servers, count));
    try {
      return await rotations(call, runs);
    } finally {
      endCall(call);
    }
  };
  const local = await measure([await world.server()]);
  const federated = await measure(await world.federation());
  const wall = (rs: Rotation[]) => rs.map((r) => r.wallMs);
  const one = compare(wall(local.driver), wall(local.direct));
  const fed = compare(wall(federated.driver), wall(federated.direct));
  const fedOverOne = compare(wall(federated.driver), wall(local.driver));
  const targets: Target[] = [
    {
      name: "rotation / direct rotation, one server, median",
      measured: one.medianRatio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: "rotation / direct rotation, one server, p95",
      measured: one.p95Ratio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: "rotation / direct rotation, federated, median",
      measured: fed.medianRatio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: "rotation / direct rotation, federated, p95",
      measured: fed.p95Ratio,
      limit: 1.05,
      test: "<=",
    },
    {
      name: "federated rotation / one-server rotation (driver), median",
      measured: fedOverOne.medianRatio,
      limit: 1.15,
      test: "<=",
    },
  ];
  const distributions: Distribution[] = [
    {
      label: `rotation, ${count}, one server`,
      driver: wall(local.driver),
      baseline: wall(local.direct),
    },
    {
      label: `rotation, ${count}, federated`,
      driver: wall(federated.driver),
      baseline: wall(federated.direct),
    },
  ];
  const half = count / 2;
  return {
    id: "rotation",
    title: "4. Element Call key rotation, against the same rotation by matrix-js-sdk directly",
    about: [
      `${count} participants (one device each), each sending a ~270-byte key to the ${count - 1} others at once`,
      "time until every participant has every key: in its widget's handler (driver), in its client's",
      "ReceivedToDeviceMessage listener (direct); federated: " +
        `${half} participants on each of two Synapse servers`,
    ],
    head: ROTATION_HEAD,
    rows: [rotationRow("one server", one), rotationRow("federated", fed)],
    notes: [
      `federated / one server (driver): median ${ratio(fedOverOne.medianRatio)}, p95 ${ratio(fedOverOne.p95Ratio)}; ` +
        `(direct): median ${ratio(fed.baseline.median / one.baseline.median)}, p95 ${ratio(fed.baseline.p95 / one.baseline.p95)}`,
    ],
    targets,
    distributions,
    data: {
      oneServer: { driver: wall(local.driver), direct: wall(local.direct) },
      federated: { driver: wall(federated.driver), direct: wall(federated.direct) },
    },
  };
}

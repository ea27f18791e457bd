// Table 3. Widget to widget: from a widget's `send` to each receiving widget's handler, through
// the driver on both sides; against matrix-js-sdk client to matrix-js-sdk client (encrypt, send,
// the receiver's `ReceivedToDeviceMessage` listener) for the same messages, on the same clients,
// in alternating rounds. Synapse with real Olm; one server, and across two federating servers.

import type { HomeserverClient } from "@widget-todevice/homeserver";
import { keyContent } from "./reply.js";
import {
  DIRECT_TYPE,
  devicesOf,
  endCall,
  KEY_TYPE,
  type Participant,
  startCall,
} from "./support/call.js";
import { config } from "./support/config.js";
import { directSend, driverSend } from "./support/direct.js";
import type { Distribution, RatioSeries, TableResult, Target } from "./support/report.js";
import { compare, ms, ratio } from "./support/stats.js";
import type { BenchWorld } from "./support/world.js";

/** Receivers are spread over at most this many users (a call: a few devices each). */
const MAX_USERS = 10;
let rounds = 0;

async function once(
  sender: Participant,
  receivers: ReadonlyArray<Participant>,
  path: "driver" | "direct",
): Promise<{ latencies: number[]; lastMs: number }> {
  const round = ++rounds;
  const type = path === "driver" ? KEY_TYPE : DIRECT_TYPE;
  const devices = receivers.map((r) => ({ userId: r.client.userId, deviceId: r.client.deviceId }));
  const content = keyContent(sender.client.deviceId, round);
  const t0 = performance.now();
  const sent =
    path === "driver"
      ? driverSend(sender.frame, type, devices, content)
      : directSend(sender.client.client, type, devices, content);
  await Promise.all([sent, ...receivers.map((r) => r.arrivals.until(type, round, 1))]);
  const latencies = receivers.map((r) => (r.arrivals.times(type, round)[0] as number) - t0);
  return { latencies, lastMs: Math.max(...latencies) };
}

async function measure(
  senderServer: HomeserverClient,
  receiverServer: HomeserverClient,
  count: number,
) {
  const [senderSeat] = await devicesOf(senderServer, 1, 1);
  const receiverSeats = await devicesOf(receiverServer, count, MAX_USERS);
  const call = await startCall([senderSeat as NonNullable<typeof senderSeat>, ...receiverSeats]);
  const [sender, ...receivers] = call as [Participant, ...Participant[]];
  try {
    for (let i = 0; i < config.warmup; i++) {
      await once(sender, receivers, "driver");
      await once(sender, receivers, "direct");
    }
    const driver: number[] = [];
    const direct: number[] = [];
    const driverLast: number[] = [];
    const directLast: number[] = [];
    for (let i = 0; i < config.widgetToWidget.rounds(count); i++) {
      const order = i % 2 === 0 ? (["driver", "direct"] as const) : (["direct", "driver"] as const);
      for (const path of order) {
        const { latencies, lastMs } = await once(sender, receivers, path);
        (path === "driver" ? driver : direct).push(...latencies);
        (path === "driver" ? driverLast : directLast).push(lastMs);
      }
    }
    return { each: compare(driver, direct), last: compare(driverLast, directLast), driver, direct };
  } finally {
    endCall(call);
  }
}

export async function widgetToWidgetTable(world: BenchWorld): Promise<TableResult> {
  const rows: string[][] = [];
  const targets: Target[] = [];
  const distributions: Distribution[] = [];
  const series: Record<string, Array<RatioSeries["points"][number]>> = {
    "one server": [],
    federated: [],
  };
  const data: Record<string, unknown> = {};
  const run = async (where: "one server" | "federated", servers: HomeserverClient[], r: number) => {
    const [a, b] = servers as [HomeserverClient, HomeserverClient];
    const result = await measure(a, b, r);
    const { each, last } = result;
    rows.push([
      String(r),
      where,
      ms(each.subject.median),
      ms(each.baseline.median),
      ratio(each.medianRatio),
      ms(each.subject.p95),
      ms(each.baseline.p95),
      ratio(each.p95Ratio),
      ratio(last.medianRatio),
    ]);
    targets.push(
      {
        name: `widget-to-widget / js-sdk-to-js-sdk, ${r} receiving, ${where}, median`,
        measured: each.medianRatio,
        limit: 1.1,
        test: "<=",
      },
      {
        name: `widget-to-widget / js-sdk-to-js-sdk, ${r} receiving, ${where}, p95`,
        measured: each.p95Ratio,
        limit: 1.1,
        test: "<=",
      },
    );
    distributions.push({
      label: `to widget, ${r}, ${where}`,
      driver: result.driver,
      baseline: result.direct,
    });
    series[where]?.push({ n: r, comparison: each });
    data[`${where}, ${r}`] = { driver: result.driver, direct: result.direct };
  };
  const hs = await world.server();
  for (const r of config.widgetToWidget.receivers) await run("one server", [hs, hs], r);
  const pair = await world.federation();
  for (const r of config.widgetToWidget.federatedReceivers) await run("federated", pair, r);
  return {
    id: "widget-to-widget",
    title: "5. Widget to widget, against matrix-js-sdk client to matrix-js-sdk client",
    about: [
      "driver: a widget's send until each receiving widget's handler runs (driver on both sides)",
      "direct: encryptToDeviceMessages + sendToDevice until each receiving client's listener runs",
      `receivers: full matrix-js-sdk clients with Rust crypto, over at most ${MAX_USERS} users;`,
      "federated: the sender on one Synapse, the receivers on the other",
      "latency per receiving device; 'last' is the ratio of medians of the time to the last device",
    ],
    head: [
      "receiving",
      "where",
      "driver med ms",
      "direct med ms",
      "ratio",
      "driver p95 ms",
      "direct p95 ms",
      "ratio",
      "last",
    ],
    rows,
    targets,
    ratios: [
      {
        label: "widget to widget / direct, one server",
        points: series["one server"] ?? [],
        limit: 1.1,
      },
      { label: "widget to widget / direct, federated", points: series.federated ?? [], limit: 1.1 },
    ],
    distributions,
    data,
  };
}

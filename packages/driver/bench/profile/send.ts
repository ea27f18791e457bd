/**
 * Where one driver send's time goes, against matrix-js-sdk doing the same send directly: N light
 * devices on a real Synapse (default 100), real Olm. Not part of `pnpm bench`; run it when the
 * reply ratio moves:
 *
 *   pnpm --filter @widget-todevice/driver exec tsx bench/profile/send.ts [N] [sends]
 *
 * 1. Timestamps around each step of a send (the widget's request reaching the host, the device
 *    list lookup, encryption, the `/sendToDevice` requests, the reply reaching the widget), by
 *    wrapping the transport's and matrix-js-sdk's methods; medians over the sends.
 * 2. Calls per send: device list lookups, encryptions, `JSON.stringify` (by caller) and its bytes.
 * 3. A CPU profile of the driver's sends and one of the direct sends (V8's sampling profiler),
 *    self time by where the code lives. The profiles are written for a closer look in DevTools.
 */
import "@widget-todevice/matrix-clients/node-window";
import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToDeviceDriver } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import { homeserverClient, startHomeserver } from "@widget-todevice/homeserver";
import { lightFleet } from "@widget-todevice/matrix-clients/light-device";
import { encryptedRoom, startClient } from "@widget-todevice/matrix-clients/matrix";
import { keyContent } from "../reply.js";
import { directSend, driverSend } from "../support/direct.js";
import { longestStretch } from "../support/host-monitor.js";
import { median } from "../support/stats.js";
import { PING, quietLogger, widgetOn } from "../support/world.js";
import { selfTimeByPlace } from "./self-time.js";

const N = Number(process.argv[2] ?? 100);
const SENDS = Number(process.argv[3] ?? 30);
const print = (line = "") => process.stdout.write(`${line}\n`);

/** Timestamps of the current send, by step name. */
let marks: Record<string, number> = {};
const counts: Record<string, number> = {};

/** Wraps `object[name]` (an async method) to record its start, end and calls. */
function instrument<T extends object>(object: T, name: keyof T & string, label: string): void {
  const original = (object[name] as (...args: unknown[]) => Promise<unknown>).bind(object);
  (object as Record<string, unknown>)[name] = async (...args: unknown[]) => {
    counts[label] = (counts[label] ?? 0) + 1;
    marks[`${label}:start`] ??= performance.now();
    try {
      return await original(...args);
    } finally {
      marks[`${label}:end`] = performance.now();
    }
  };
}

async function main(): Promise<void> {
  const server = await startHomeserver({ log: () => undefined });
  const hs = homeserverClient(server.info());
  try {
    const alice = await startClient(await hs.registerUser(), { homeserver: hs });
    const fleet = await lightFleet(hs, 1, N);
    const roomId = await encryptedRoom(alice, [], true);
    const user = fleet[0]?.userId as string;
    await alice.client.invite(roomId, user);
    const joined = await fetch(
      `${hs.baseUrl}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${fleet[0]?.session.accessToken}`,
          "content-type": "application/json",
        },
        body: "{}",
      },
    );
    if (!joined.ok) throw new Error(`join: ${joined.status}`);
    const transport = new MatrixJsSdkTransport(alice.client, { logger: quietLogger });
    const driver = new ToDeviceDriver({ transport, logger: quietLogger });
    const frame = await widgetOn(driver, roomId, [`org.matrix.msc3819.send.to_device:${PING}`]);
    const crypto = alice.client.getCrypto();
    if (crypto === undefined) throw new Error("no crypto");
    const devices = fleet.map((d) => ({ userId: d.userId, deviceId: d.deviceId }));

    // Before the driver's own listener (registered at attach): when the request reached the host.
    frame.clientApi.on("action:send_to_device", () => {
      marks["host:request"] ??= performance.now();
    });
    instrument(transport, "getUserDevices", "transport.getUserDevices");
    instrument(transport, "encryptToDeviceMessages", "transport.encryptToDeviceMessages");
    instrument(transport, "sendToDevice", "transport.sendToDevice");
    instrument(crypto, "getUserDeviceInfo", "crypto.getUserDeviceInfo");
    instrument(crypto, "encryptToDeviceMessages", "crypto.encryptToDeviceMessages");
    instrument(crypto, "getDeviceVerificationStatus", "crypto.getDeviceVerificationStatus");
    instrument(alice.client, "sendToDevice", "client.sendToDevice");

    let round = 0;
    const viaDriver = () => driverSend(frame, PING, devices, keyContent("A", round++));
    const direct = () => directSend(alice.client, PING, devices, keyContent("A", round++));
    for (let i = 0; i < 3; i++) {
      await viaDriver();
      await direct();
    }

    // ---- 1. timestamps ----
    const steps: Record<string, number[]> = {};
    const add = (step: string, value: number) => {
      const list = steps[step] ?? [];
      list.push(value);
      steps[step] = list;
    };
    const m = (key: string) => marks[key] as number;
    const timedDriver = async () => {
      marks = {};
      const t0 = performance.now();
      add("driver: longest event-loop stretch", (await longestStretch(viaDriver)).ms);
      const t1 = performance.now();
      add("driver: total", t1 - t0);
      add("widget request to host (postMessage, widget API)", m("host:request") - t0);
      add(
        "host request to device list lookup (decode, checks, turn)",
        m("transport.getUserDevices:start") - m("host:request"),
      );
      add(
        "device list lookup (transport.getUserDevices)",
        m("transport.getUserDevices:end") - m("transport.getUserDevices:start"),
      );
      add(
        "lookup to encryption (sizing, budget, resolving devices)",
        m("transport.encryptToDeviceMessages:start") - m("transport.getUserDevices:end"),
      );
      add(
        "encryption (transport, all)",
        m("transport.encryptToDeviceMessages:end") - m("transport.encryptToDeviceMessages:start"),
      );
      add(
        "  of which matrix-js-sdk encryptToDeviceMessages",
        m("crypto.encryptToDeviceMessages:end") - m("crypto.encryptToDeviceMessages:start"),
      );
      add(
        "encryption to first request (per-ciphertext sizing, chunking)",
        m("transport.sendToDevice:start") - m("transport.encryptToDeviceMessages:end"),
      );
      add(
        "/sendToDevice requests (transport, first start to last end)",
        m("transport.sendToDevice:end") - m("transport.sendToDevice:start"),
      );
      add(
        "  of which matrix-js-sdk sendToDevice",
        m("client.sendToDevice:end") - m("client.sendToDevice:start"),
      );
      add("last request to reply at the widget", t1 - m("transport.sendToDevice:end"));
    };
    const timedDirect = async () => {
      marks = {};
      const d0 = performance.now();
      add("direct: longest event-loop stretch", (await longestStretch(direct)).ms);
      const d1 = performance.now();
      add("direct: total", d1 - d0);
      add(
        "direct: matrix-js-sdk encryptToDeviceMessages",
        m("crypto.encryptToDeviceMessages:end") - m("crypto.encryptToDeviceMessages:start"),
      );
      add(
        "direct: matrix-js-sdk sendToDevice",
        m("client.sendToDevice:end") - m("client.sendToDevice:start"),
      );
    };
    // Direct again, with the content as the host receives it from a widget (structured-cloned
    // through postMessage): tells apart the content object's shape from the driver's own work.
    const timedDirectCloned = async () => {
      marks = {};
      const d0 = performance.now();
      await directSend(alice.client, PING, devices, structuredClone(keyContent("A", round++)));
      add("direct, content structured-cloned: total", performance.now() - d0);
      add(
        "direct, content structured-cloned: matrix-js-sdk encryptToDeviceMessages",
        m("crypto.encryptToDeviceMessages:end") - m("crypto.encryptToDeviceMessages:start"),
      );
    };
    // The paths alternate which goes first.
    for (let i = 0; i < SENDS; i++) {
      if (i % 2 === 0) {
        await timedDriver();
        await timedDirect();
        await timedDirectCloned();
      } else {
        await timedDirectCloned();
        await timedDirect();
        await timedDriver();
      }
    }
    print(
      `one send of an Element Call key to ${N} devices (one user), ${SENDS} sends each, medians in ms:`,
    );
    for (const [step, values] of Object.entries(steps))
      print(`  ${step.padEnd(64)} ${median(values).toFixed(2).padStart(8)}`);

    // ---- 2. calls per send ----
    const callsOf = async (send: () => Promise<void>) => {
      for (const key of Object.keys(counts)) delete counts[key];
      const stringify = JSON.stringify;
      const byCaller: Record<string, { calls: number; bytes: number }> = {};
      JSON.stringify = ((...args: Parameters<typeof stringify>) => {
        const out = stringify(...args);
        const caller = callerOf(new Error().stack ?? "");
        const entry = byCaller[caller] ?? { calls: 0, bytes: 0 };
        entry.calls++;
        entry.bytes += out?.length ?? 0;
        byCaller[caller] = entry;
        return out;
      }) as typeof stringify;
      try {
        await send();
      } finally {
        JSON.stringify = stringify;
      }
      return { calls: { ...counts }, byCaller };
    };
    for (const [label, send] of [
      ["driver", viaDriver],
      ["direct", direct],
    ] as const) {
      const { calls, byCaller } = await callsOf(send);
      print();
      print(`${label}: calls in one send`);
      for (const [name, count] of Object.entries(calls)) print(`  ${name.padEnd(40)} ${count}`);
      for (const [caller, s] of Object.entries(byCaller).sort((a, b) => b[1].bytes - a[1].bytes))
        print(
          `  JSON.stringify from ${caller.padEnd(50)} ${String(s.calls).padStart(5)} calls ${(s.bytes / 1024).toFixed(0).padStart(5)} KiB`,
        );
    }

    // ---- 3. CPU profiles, one per send, the paths interleaved (so that neither inherits the
    // other's garbage), self times added up per path ----
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    const dir = join(tmpdir(), "widget-todevice-bench");
    await mkdir(dir, { recursive: true });
    const paths = [
      {
        label: "driver",
        send: viaDriver,
        wall: 0,
        places: new Map<string, number>(),
        functions: new Map<string, number>(),
      },
      {
        label: "direct",
        send: direct,
        wall: 0,
        places: new Map<string, number>(),
        functions: new Map<string, number>(),
      },
    ];
    for (let i = 0; i < SENDS; i++) {
      for (const path of i % 2 === 0 ? paths : [...paths].reverse()) {
        await session.post("Profiler.start");
        const t0 = performance.now();
        await path.send();
        path.wall += performance.now() - t0;
        const { profile } = await session.post("Profiler.stop");
        if (i === SENDS - 1)
          await writeFile(join(dir, `send-${path.label}-${N}.cpuprofile`), JSON.stringify(profile));
        const self = selfTimeByPlace(profile);
        for (const [place, us] of self.places)
          path.places.set(place, (path.places.get(place) ?? 0) + us);
        for (const [fn, us] of self.functions)
          path.functions.set(fn, (path.functions.get(fn) ?? 0) + us);
      }
    }
    for (const path of paths) {
      print();
      print(
        `${path.label}: CPU profiles of ${SENDS} sends (${(path.wall / SENDS).toFixed(1)} ms each), self time per send by place, ms (last one: ${join(dir, `send-${path.label}-${N}.cpuprofile`)}):`,
      );
      for (const [place, us] of [...path.places].sort((a, b) => b[1] - a[1]))
        print(`  ${place.padEnd(44)} ${(us / 1000 / SENDS).toFixed(2).padStart(8)}`);
      if (path.functions.size > 0) print("  the driver's and the codec's own functions:");
      for (const [fn, us] of [...path.functions].sort((a, b) => b[1] - a[1]).slice(0, 15))
        print(`    ${fn.padEnd(70)} ${(us / 1000 / SENDS).toFixed(3).padStart(8)}`);
    }
    session.disconnect();
    driver.dispose();
    frame.stop();
    alice.stop();
  } finally {
    await server.stop();
  }
}

/** The first stack frame outside this file, as `package/file:function`. */
function callerOf(stack: string): string {
  const frames = stack.split("\n").slice(1);
  const frame = frames.find((f) => !f.includes("profile/send.ts")) ?? "";
  const match = /at (?:(\S+) )?\(?(.*?):\d+:\d+\)?$/.exec(frame.trim());
  const fn = match?.[1] ?? "<anonymous>";
  const file = (match?.[2] ?? "?")
    .replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, "")
    .replace(/^.*\/packages\//, "packages/")
    .replace(/^file:\/\//, "");
  return `${file}:${fn}`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

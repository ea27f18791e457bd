/**
 * Where a large key rotation's time goes, through the driver (widget to widget) and by the same
 * matrix-js-sdk clients directly: P participants (default 50) on one Synapse, each key to the
 * P - 1 others, as in the large-call table. Not part of `pnpm bench`:
 *
 *   pnpm --filter @widget-todevice/driver exec tsx bench/profile/rotation.ts [P] [rounds]
 *
 * Prints the wall times (interleaved rounds), matrix-js-sdk calls and widget `postMessage`s per
 * rotation (each runs every `message` listener of the one global window the frames share: every
 * host's and every widget's transport), and the CPU self time per rotation by where the code
 * lives. The first rotation's profiles are written for a closer look in DevTools.
 */
import "@widget-todevice/matrix-clients/node-window";
import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Rotation, rotate } from "../rotation.js";
import { endCall, oneDeviceEach, startCall } from "../support/call.js";
import { median } from "../support/stats.js";
import { BenchWorld } from "../support/world.js";
import { selfTimeByPlace } from "./self-time.js";

const P = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 6);
const print = (line = "") => process.stdout.write(`${line}\n`);

const counts: Record<string, number> = {};
function count<T extends object>(object: T, name: keyof T & string, label: string): void {
  const original = (object[name] as (...args: unknown[]) => unknown).bind(object);
  (object as Record<string, unknown>)[name] = (...args: unknown[]) => {
    counts[label] = (counts[label] ?? 0) + 1;
    return original(...args);
  };
}

async function main(): Promise<void> {
  // Every frame's postMessage is dispatched on the one global window, where every host's and
  // every widget's transport listens: count the listeners each message runs.
  let listeners = 0;
  let dispatched = 0;
  const add = globalThis.addEventListener.bind(globalThis);
  const remove = globalThis.removeEventListener.bind(globalThis);
  const dispatch = globalThis.dispatchEvent.bind(globalThis);
  globalThis.addEventListener = ((type: string, ...rest: [never, never]) => {
    if (type === "message") listeners++;
    return add(type, ...rest);
  }) as typeof globalThis.addEventListener;
  globalThis.removeEventListener = ((type: string, ...rest: [never, never]) => {
    if (type === "message") listeners--;
    return remove(type, ...rest);
  }) as typeof globalThis.removeEventListener;
  globalThis.dispatchEvent = (event: Event) => {
    if (event.type === "message") dispatched++;
    return dispatch(event);
  };
  const world = new BenchWorld();
  try {
    const hs = await world.server();
    const call = await startCall(await oneDeviceEach([hs], P));
    try {
      for (const { client } of call) {
        const crypto = client.client.getCrypto();
        if (crypto === undefined) throw new Error("no crypto");
        count(crypto, "getUserDeviceInfo", "crypto.getUserDeviceInfo");
        count(crypto, "encryptToDeviceMessages", "crypto.encryptToDeviceMessages");
        count(client.client, "sendToDevice", "client.sendToDevice");
      }
      for (let i = 0; i < 2; i++) {
        await rotate(call, "driver");
        await rotate(call, "direct");
      }
      const walls = { driver: [] as number[], direct: [] as number[] };
      for (const k of Object.keys(counts)) counts[k] = 0;
      const session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 200 });
      const dir = join(tmpdir(), "widget-todevice-profile");
      await mkdir(dir, { recursive: true });
      const self = { driver: new Map<string, number>(), direct: new Map<string, number>() };
      const fns = new Map<string, number>();
      for (let i = 0; i < ROUNDS; i++) {
        const order: Array<"driver" | "direct"> =
          i % 2 === 0 ? ["driver", "direct"] : ["direct", "driver"];
        for (const path of order) {
          const before = { ...counts };
          const dispatchedBefore = dispatched;
          await session.post("Profiler.start");
          const r: Rotation = await rotate(call, path);
          const { profile } = await session.post("Profiler.stop");
          walls[path].push(r.wallMs);
          if (i === 0) {
            await writeFile(join(dir, `rotation-${path}-${P}.cpuprofile`), JSON.stringify(profile));
            print(
              `${path} calls: ${Object.entries(counts)
                .map(([k, v]) => `${k}=${v - (before[k] ?? 0)}`)
                .join(
                  " ",
                )} postMessages=${dispatched - dispatchedBefore} (each to ${listeners} listeners)`,
            );
          }
          const s = selfTimeByPlace(profile);
          for (const [place, us] of s.places)
            self[path].set(place, (self[path].get(place) ?? 0) + us);
          if (path === "driver")
            for (const [fn, us] of s.functions) fns.set(fn, (fns.get(fn) ?? 0) + us);
        }
      }
      print(
        `wall ms, median: driver ${median(walls.driver).toFixed(1)} direct ${median(walls.direct).toFixed(1)} ratio ${(median(walls.driver) / median(walls.direct)).toFixed(3)}`,
      );
      print(`driver: ${walls.driver.map((v) => v.toFixed(0)).join(" ")}`);
      print(`direct: ${walls.direct.map((v) => v.toFixed(0)).join(" ")}`);
      const places = new Set([...self.driver.keys(), ...self.direct.keys()]);
      print("self time per rotation, ms (driver / direct):");
      for (const place of [...places].sort(
        (a, b) => (self.driver.get(b) ?? 0) - (self.driver.get(a) ?? 0),
      )) {
        const d = (self.driver.get(place) ?? 0) / ROUNDS / 1000;
        const b = (self.direct.get(place) ?? 0) / ROUNDS / 1000;
        print(`  ${place}: ${d.toFixed(1)} / ${b.toFixed(1)}`);
      }
      print("driver and codec functions, ms per rotation:");
      for (const [fn, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 15))
        print(`  ${(us / ROUNDS / 1000).toFixed(2)} ${fn}`);
      print(`profiles: ${dir}`);
    } finally {
      endCall(call);
    }
  } finally {
    await world.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

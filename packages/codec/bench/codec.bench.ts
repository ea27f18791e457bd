// Codec benchmark shaped like Element Call's key exchange: one ~270-byte content to N devices.
// Every figure is a ratio to a baseline measured in the same run (JSON.parse of the same bytes,
// or the fewest bytes any request format could take), because absolute times on shared
// machines are noise. Median and p95 of the per-iteration times, after a warm-up.
//
// `WIDGET_TODEVICE_BENCH_QUICK=1`: shorter runs, results to a temporary folder (a smoke test).
// A full run writes docs/bench/codec.json.

import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// The built package, as a widget or host ships it.
import { decodeSendRequest, normalize } from "@widget-todevice/codec";
import { Bench } from "tinybench";

const QUICK = process.env.WIDGET_TODEVICE_BENCH_QUICK === "1";
const SIZES = [2, 20, 100, 1000] as const;
const TYPE = "io.element.call.encryption_keys";

/** An Element Call encryption-key content (`io.element.call.encryption_keys`): 270 bytes. */
const KEY_CONTENT = {
  keys: { index: 3, key: "nHm1aGxMXiN2nV0mBbCk8yq0bBjUqZ5tC9Yk6Hh1Rz4=" },
  member: { claimed_device_id: "QWERTYUIOP", id: "@alice:matrix.org:QWERTYUIOP" },
  room_id: "!abcdefgh:matrix.org",
  session: { application: "m.call", call_id: "", scope: "m.room" },
  sent_ts: 17641464,
};

/**
 * N call participants, one device each (the worst case for the recipients format: no user ID
 * is shared), with IDs as long as matrix.org's: `@user0042:matrix.org`, `DEVICE0042`.
 */
function recipientsOf(n: number): Array<[string, string]> {
  return Array.from({ length: n }, (_, i) => [
    `@user${String(i).padStart(4, "0")}:matrix.org`,
    `DEVICE${String(i).padStart(4, "0")}`,
  ]);
}

/** The same N devices held by N / 2 users with two devices each (a phone and a laptop). */
function pairedRecipientsOf(n: number): Array<[string, string]> {
  const users = recipientsOf(n).map(([user]) => user);
  return users.map((_, i) => [users[i >> 1] as string, `DEVICE${String(i).padStart(4, "0")}`]);
}

function grouped(recipients: Array<[string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [user, device] of recipients) out[user] = [...(out[user] ?? []), device];
  return out;
}

function requestBytes(
  format: "legacy" | "recipients" | "scoped",
  n: number,
  recipients: Array<[string, string]> = recipientsOf(n),
): string {
  if (format === "legacy") {
    const messages: Record<string, Record<string, unknown>> = {};
    for (const [user, device] of recipients)
      messages[user] = { ...messages[user], [device]: KEY_CONTENT };
    return JSON.stringify({ type: TYPE, encrypted: true, messages });
  }
  const request = {
    type: TYPE,
    encrypted: true,
    recipient_devices: grouped(recipients),
    content: KEY_CONTENT,
  };
  return JSON.stringify(format === "scoped" ? { ...request, scope: { id: "m.call" } } : request);
}

/**
 * The fewest bytes any request format could take: the fields every format has (`type`,
 * `encrypted`), the content once, each user ID once and each device ID once, quoted, with the
 * JSON punctuation that groups them: `{"type":…,"encrypted":true,{"@u":["D1","D2"]},{…}}`.
 */
function floorBytes(n: number, recipients: Array<[string, string]> = recipientsOf(n)): number {
  const fixed = JSON.stringify({ type: TYPE, encrypted: true });
  const ids = JSON.stringify(grouped(recipients));
  const content = JSON.stringify(KEY_CONTENT);
  // `fixed` without its closing brace, a comma, the IDs, a comma, the content, the closing brace.
  return (
    Buffer.byteLength(fixed) - 1 + 1 + Buffer.byteLength(ids) + 1 + Buffer.byteLength(content) + 1
  );
}

/** The value at quantile `q` (nearest rank). */
function quantile(samples: ReadonlyArray<number>, q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1] as number;
}

interface Row {
  n: number;
  format: string;
  bytes: number;
  floor: number;
  /** decode+normalize / JSON.parse, medians and p95s. */
  medianRatio: number;
  p95Ratio: number;
}

const rows: Row[] = [];
for (const n of SIZES) {
  for (const format of ["legacy", "recipients", "scoped"] as const) {
    const bytes = requestBytes(format, n);
    const parsed: unknown = JSON.parse(bytes);
    let sink: unknown;
    const bench = new Bench({
      time: QUICK ? 30 : 500,
      warmup: true,
      warmupTime: QUICK ? 10 : 200,
      retainSamples: true,
    });
    bench
      .add("JSON.parse", () => {
        sink = JSON.parse(bytes);
      })
      .add("decode+normalize", () => {
        const result = decodeSendRequest(parsed);
        if (result._tag === "Left") throw new Error(JSON.stringify(result.left));
        sink = normalize(result.right);
      });
    await bench.run();
    const [parse, codec] = bench.tasks.map((task) => {
      const result = task.result;
      if (result === undefined || !("latency" in result) || result.latency.samples === undefined)
        throw new Error(`${task.name} did not run`);
      const samples = result.latency.samples;
      return { median: quantile(samples, 0.5), p95: quantile(samples, 0.95) };
    });
    if (sink === undefined || parse === undefined || codec === undefined)
      throw new Error("no result");
    rows.push({
      n,
      format,
      bytes: Buffer.byteLength(bytes),
      floor: floorBytes(n),
      medianRatio: codec.median / parse.median,
      p95Ratio: codec.p95 / parse.p95,
    });
  }
}

const find = (n: number, format: string) =>
  rows.find((row) => row.n === n && row.format === format) as Row;

console.log(
  "\ncodec: decode+normalize time as a ratio to JSON.parse of the same request bytes (median, p95);",
);
console.log("request bytes as a ratio to the floor (the content once, each ID once, punctuation)");
console.log("   N  format        request bytes  median x  p95 x  bytes / floor");
for (const row of rows) {
  console.log(
    `${String(row.n).padStart(4)}  ${row.format.padEnd(12)}  ${String(row.bytes).padStart(13)}  ${row.medianRatio.toFixed(2).padStart(8)}  ${row.p95Ratio.toFixed(2).padStart(5)}  ${(row.bytes / row.floor).toFixed(3).padStart(13)}`,
  );
}

const targets: Array<{ name: string; measured: number; limit: number; met: boolean }> = [];
const target = (name: string, measured: number, limit: number) =>
  targets.push({ name, measured, limit, met: measured <= limit });
target(
  "legacy decode+normalize at N = 100 / JSON.parse, median",
  find(100, "legacy").medianRatio,
  2,
);
target("legacy decode+normalize at N = 100 / JSON.parse, p95", find(100, "legacy").p95Ratio, 2);
target(
  "recipients decode+normalize at N = 1000 / JSON.parse, median",
  find(1000, "recipients").medianRatio,
  1,
);
target(
  "recipients decode+normalize at N = 1000 / JSON.parse, p95",
  find(1000, "recipients").p95Ratio,
  1,
);
for (const n of [100, 1000] as const)
  target(
    `recipients request bytes at N = ${n} / the floor`,
    find(n, "recipients").bytes / find(n, "recipients").floor,
    1.02,
  );

const paired = (format: "legacy" | "recipients") =>
  Buffer.byteLength(requestBytes(format, 100, pairedRecipientsOf(100)));
const pairedFloor = floorBytes(100, pairedRecipientsOf(100));
console.log(
  `\nN = 100 as 50 users with two devices each: recipients ${paired("recipients")} bytes (${(paired("recipients") / pairedFloor).toFixed(3)} x the floor), legacy ${paired("legacy")} bytes (${(paired("legacy") / pairedFloor).toFixed(2)} x)`,
);

console.log("\ntargets");
for (const { name, measured, limit, met } of targets)
  console.log(
    `  ${met ? "met   " : "MISSED"}  ${name} (measured ${measured.toFixed(3)}, target <= ${limit})`,
  );

const here = dirname(fileURLToPath(import.meta.url));
const dir =
  process.env.WIDGET_TODEVICE_BENCH_OUT ??
  (QUICK ? join(tmpdir(), "widget-todevice-bench") : join(here, "../../../docs/bench"));
await mkdir(dir, { recursive: true });
await writeFile(
  join(dir, "codec.json"),
  `${JSON.stringify(
    {
      mode: QUICK ? "quick" : "full",
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model.trim(), cores: cpus().length, node: process.version },
      rows,
      targets,
    },
    null,
    1,
  )}\n`,
);
// In the repository's format, so that `pnpm lint` accepts the committed results as written.
spawnSync(
  join(here, "../../../node_modules/.bin/biome"),
  ["format", "--write", join(dir, "codec.json")],
  {
    stdio: "ignore",
  },
);
console.log(`\nresults: ${join(dir, "codec.json")}`);

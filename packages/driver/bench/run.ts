/**
 * The driver's benchmarks on matrix-js-sdk against real Synapse servers it starts itself, with
 * real Olm. Every figure that can be is a ratio to matrix-js-sdk doing the same directly, in the
 * same run. One module per table; this runner runs them one after another, prints them with
 * their targets met or missed, writes `docs/bench/driver.json` and `docs/bench/driver.svg`, and
 * then runs the stand-alone benchmark scripts beside it (`STANDALONE`).
 *
 * Run: `pnpm bench` at the root (codec and driver, one after the other), or
 * `pnpm --filter @widget-todevice/driver bench`.
 * Env: `WIDGET_TODEVICE_BENCH_QUICK=1`: fewer rounds, smaller N, results to a temporary folder;
 * `WIDGET_TODEVICE_BENCH_TABLES=reply,host-bill`: only these tables (results to a temporary
 * folder); `WIDGET_TODEVICE_BENCH_OUT=<dir>`: write the results there.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostBillTable } from "./host-bill.js";
import { largeCallTable } from "./large-call.js";
import { replyTable } from "./reply.js";
import { rotationTable } from "./rotation.js";
import { chartSvg } from "./support/chart.js";
import { config } from "./support/config.js";
import { describe, machine } from "./support/machine.js";
import { met, printTable, type TableResult, targetLine } from "./support/report.js";
import { BenchWorld } from "./support/world.js";
import { widgetToWidgetTable } from "./widget-to-widget.js";

const here = dirname(fileURLToPath(import.meta.url));

/** In the order they run: the one-server tables first, the federating pair last. */
const TABLES: ReadonlyArray<readonly [string, (world: BenchWorld) => Promise<TableResult>]> = [
  ["reply", replyTable],
  ["host-bill", hostBillTable],
  ["large-call", largeCallTable],
  ["rotation", rotationTable],
  ["widget-to-widget", widgetToWidgetTable],
];

/** Benchmark scripts of their own in this folder, run after the tables when present. */
const STANDALONE = ["abuse.ts"];

const print = (line = "") => process.stdout.write(`${line}\n`);

function outputDir(selected: boolean): string {
  const env = process.env.WIDGET_TODEVICE_BENCH_OUT;
  if (env !== undefined && env !== "") return env;
  // Only a full run of every table replaces the committed results.
  if (config.mode === "full" && !selected) return join(here, "../../../docs/bench");
  return join(tmpdir(), "widget-todevice-bench");
}

async function main(): Promise<number> {
  const started = Date.now();
  const only = process.env.WIDGET_TODEVICE_BENCH_TABLES?.split(",").filter((t) => t !== "");
  const tables = TABLES.filter(([id]) => only === undefined || only.includes(id));
  const host = await machine();
  print(`driver benchmarks (${config.mode}) on ${describe(host)}`);
  const world = new BenchWorld();
  const results: TableResult[] = [];
  const failed: string[] = [];
  try {
    for (const [id, table] of tables) {
      const t0 = Date.now();
      try {
        const result = await table(world);
        results.push(result);
        printTable(result);
      } catch (error) {
        // One table's failure is reported; the others still run and are written.
        failed.push(id);
        print();
        print(
          `## ${id} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
      print(`(${id}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await world.stop();
  }
  const targets = results.flatMap((r) => r.targets);
  print();
  print("## Targets");
  for (const target of targets) print(targetLine(target));
  const seconds = Math.round((Date.now() - started) / 1000);
  print();
  print(
    `${targets.filter(met).length} of ${targets.length} targets met; the tables took ${seconds} s`,
  );

  const dir = outputDir(only !== undefined || failed.length > 0);
  await mkdir(dir, { recursive: true });
  const report = {
    mode: config.mode,
    date: new Date(started).toISOString(),
    seconds,
    machine: host,
    tables: results,
    targets: targets.map((t) => ({ ...t, met: met(t) })),
    failed,
  };
  await writeFile(join(dir, "driver.json"), `${JSON.stringify(report, null, 1)}\n`);
  await writeFile(
    join(dir, "driver.svg"),
    chartSvg({
      title: `widget-todevice driver against matrix-js-sdk directly (${config.mode} run, ${report.date.slice(0, 10)})`,
      caption: describe(host),
      ratios: results.flatMap((r) => r.ratios ?? []),
      distributions: results.flatMap((r) => r.distributions ?? []),
    }),
  );
  // In the repository's format, so that `pnpm lint` accepts the committed results as written.
  const biome = join(here, "../../../node_modules/.bin/biome");
  spawnSync(biome, ["format", "--write", join(dir, "driver.json")], { stdio: "ignore" });
  print(`results: ${join(dir, "driver.json")}, ${join(dir, "driver.svg")}`);

  let status = failed.length > 0 ? 1 : 0;
  if (only === undefined) {
    for (const script of STANDALONE) {
      const path = join(here, script);
      if (!existsSync(path)) continue;
      print();
      print(`## ${script}`);
      const run = spawnSync("tsx", [path], { stdio: "inherit", env: process.env });
      if (run.status !== 0) status = 1;
    }
  }
  return status;
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

// What each table hands back to the runner: rows to print, targets met or missed, and the data
// the JSON and the chart are made from.

import type { Comparison } from "./stats.js";

export interface Target {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  /** `<=`: at most the limit; `=`: exactly it. */
  readonly test: "<=" | "=";
}

export const met = (target: Target): boolean =>
  target.test === "="
    ? Math.abs(target.measured - target.limit) < 1e-9
    : target.measured <= target.limit;

/** One series of a chart: a path against its baseline at several sizes. */
export interface RatioSeries {
  readonly label: string;
  readonly points: ReadonlyArray<{ readonly n: number; readonly comparison: Comparison }>;
  /** The target for this series' ratios. */
  readonly limit: number;
}

/** Raw samples of one scenario, driver and baseline, for the distribution chart. */
export interface Distribution {
  readonly label: string;
  readonly driver: ReadonlyArray<number>;
  readonly baseline: ReadonlyArray<number>;
}

export interface TableResult {
  readonly id: string;
  readonly title: string;
  /** Lines printed above the table: what is measured, against what. */
  readonly about: ReadonlyArray<string>;
  readonly head: ReadonlyArray<string>;
  readonly rows: ReadonlyArray<ReadonlyArray<string>>;
  readonly notes?: ReadonlyArray<string>;
  readonly targets: ReadonlyArray<Target>;
  readonly ratios?: ReadonlyArray<RatioSeries>;
  readonly distributions?: ReadonlyArray<Distribution>;
  /** Anything else worth keeping in the JSON. */
  readonly data?: Readonly<Record<string, unknown>>;
}

const print = (line = "") => process.stdout.write(`${line}\n`);

export function printTable(table: TableResult): void {
  print();
  print(`## ${table.title}`);
  for (const line of table.about) print(line);
  print();
  const widths = table.head.map((h, i) =>
    Math.max(h.length, ...table.rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => c.padStart(widths[i] as number)).join(" | ")} |`;
  print(line(table.head));
  print(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table.rows) print(line(row));
  for (const note of table.notes ?? []) print(note);
  if (table.targets.length > 0) print();
  for (const target of table.targets) print(targetLine(target));
}

export function targetLine(target: Target): string {
  const figure = Number.isInteger(target.measured)
    ? String(target.measured)
    : target.measured.toFixed(target.measured >= 10 ? 1 : 3);
  return `  ${met(target) ? "met   " : "MISSED"}  ${target.name} (measured ${figure}, target ${target.test} ${target.limit})`;
}

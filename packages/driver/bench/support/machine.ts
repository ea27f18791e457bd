// The machine a run was made on, printed with the results and under the chart.

import { readdir } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { synapseRoot } from "@widget-todevice/homeserver";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly synapse: string;
  /** 1-minute load average when the run started: other work on the machine. */
  readonly loadAtStart: number;
}

async function synapseVersion(): Promise<string> {
  try {
    const packages = join(synapseRoot(), "usr/lib/python3/dist-packages");
    const info = (await readdir(packages)).find((name) =>
      /^matrix_synapse-.*\.dist-info$/.test(name),
    );
    return info?.replace(/^matrix_synapse-(.*)\.dist-info$/, "$1") ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function machine(): Promise<Machine> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: `Linux ${release()}`,
    node: process.version,
    synapse: await synapseVersion(),
    loadAtStart: Number((loadavg()[0] ?? 0).toFixed(1)),
  };
}

export function describe(m: Machine): string {
  return `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, Synapse ${m.synapse} (sqlite) on loopback; load average ${m.loadAtStart} at start`;
}

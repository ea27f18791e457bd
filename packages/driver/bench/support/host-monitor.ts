// What a send costs the host process: the longest stretch its event loop was held (a UI
// stutters beyond a 16 ms frame) and the peak of its memory.

import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * The longest time the event loop could not run a 1 ms timer while `work` ran: the longest
 * synchronous stretch, to within about a millisecond.
 */
export async function longestStretch<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    const value = await work();
    return { value, ms: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

/** The highest resident set size seen while `work` ran, above what it was before. */
export async function peakMemory<T>(work: () => Promise<T>): Promise<{ value: T; mib: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 5);
  try {
    const value = await work();
    sample();
    return { value, mib: (peak - before) / 1_048_576 };
  } finally {
    clearInterval(timer);
  }
}

/** A garbage collection on demand, without starting Node with `--expose-gc`. */
export async function collectGarbage(): Promise<void> {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

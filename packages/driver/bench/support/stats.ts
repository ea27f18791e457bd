// Medians and 95th percentiles of measured times, and ratios between two paths measured in the
// same run (absolute times on a shared machine are noise; ratios of interleaved runs are not).

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** The value at quantile `q` (nearest rank): p95 of 40 samples is the 38th smallest. */
export function quantile(samples: ReadonlyArray<number>, q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(samples: ReadonlyArray<number>): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(samples: ReadonlyArray<number>): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p95: quantile(samples, 0.95),
    min: samples.length === 0 ? Number.NaN : Math.min(...samples),
    max: samples.length === 0 ? Number.NaN : Math.max(...samples),
  };
}

/** One path against its baseline: the ratio of the medians and the ratio of the p95s. */
export interface Comparison {
  readonly subject: Summary;
  readonly baseline: Summary;
  readonly medianRatio: number;
  readonly p95Ratio: number;
}

export function compare(
  subject: ReadonlyArray<number>,
  baseline: ReadonlyArray<number>,
): Comparison {
  const s = summarize(subject);
  const b = summarize(baseline);
  return { subject: s, baseline: b, medianRatio: s.median / b.median, p95Ratio: s.p95 / b.p95 };
}

export const ms = (value: number): string =>
  Number.isNaN(value) ? "-" : value >= 100 ? value.toFixed(0) : value.toFixed(1);
export const ratio = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(2));

/**
 * How many runs, from which seed. `pnpm test` runs a bounded number; `pnpm fuzz` runs many more.
 * A failure prints its seed and path; set them to replay exactly that run:
 *   WIDGET_TODEVICE_FUZZ_SEED=<seed> WIDGET_TODEVICE_FUZZ_PATH=<path> pnpm exec vitest run test/model
 */
const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
};

function integer(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${raw}`);
  return value;
}

/** Runs of the property (default 100: a few seconds). */
export const FUZZ_RUNS = integer("WIDGET_TODEVICE_FUZZ_RUNS", 100);
/** The seed of the first run; random unless given. */
export const FUZZ_SEED = integer("WIDGET_TODEVICE_FUZZ_SEED", (Math.random() * 2 ** 31) | 0);
/** fast-check's replay path of a failing run (printed with the seed). */
export const FUZZ_PATH = env("WIDGET_TODEVICE_FUZZ_PATH");
/** Steps per run at most. */
export const FUZZ_MAX_STEPS = integer("WIDGET_TODEVICE_FUZZ_STEPS", 40);

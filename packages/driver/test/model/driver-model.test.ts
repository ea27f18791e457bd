/**
 * The model-based property suite of the driver: real `WidgetApi` <-> `ClientWidgetApi` pairs with
 * the driver attached, driven through arbitrary interleavings of widget requests, incoming
 * events, room encryption flips, transport faults and detach/reattach. The invariants checked
 * after every step are listed in docs/conformance.md ("Invariants checked after every step").
 *
 * Deeper: `pnpm fuzz`. Replay a failure: the seed and path it prints, in
 * WIDGET_TODEVICE_FUZZ_SEED and WIDGET_TODEVICE_FUZZ_PATH.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, it, vi } from "vitest";
import { FUZZ_MAX_STEPS, FUZZ_PATH, FUZZ_RUNS, FUZZ_SEED } from "./fuzz-config.js";
import { coverage, ModelRun, mulberry32 } from "./model-run.js";
import {
  floodStepArbitrary,
  type HostConfig,
  hostConfigArbitrary,
  type Step,
  stepArbitrary,
} from "./steps.js";

const TIMEOUT_MS = Math.max(60_000, FUZZ_RUNS * 3_000);

/** One run: the widgets load, then every step, each followed by every check. */
async function run(config: HostConfig, steps: ReadonlyArray<Step>, jitterSeed: number) {
  // The driver's retry jitter draws from Math.random: seeded, a run replays exactly.
  const random = vi.spyOn(Math, "random").mockImplementation(mulberry32(jitterSeed));
  // matrix-widget-api logs the stock handler's errors (a detached widget's sends).
  const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
  const model = new ModelRun(config);
  try {
    await model.start();
    model.check("the widgets loaded");
    for (const [index, step] of steps.entries()) {
      await model.apply(step);
      model.check(`step ${index + 1} ${JSON.stringify(step)}`);
    }
    await model.drain();
    model.checkEnd();
  } finally {
    model.stop();
    random.mockRestore();
    errors.mockRestore();
  }
}

async function assertModel(name: string, steps: fc.Arbitrary<ReadonlyArray<Step>>, runs: number) {
  process.stdout.write(
    `driver model, ${name}: ${runs} runs, seed ${FUZZ_SEED} (replay: WIDGET_TODEVICE_FUZZ_SEED=${FUZZ_SEED})\n`,
  );
  for (const key of Object.keys(coverage) as Array<keyof typeof coverage>) coverage[key] = 0;
  try {
    await fc.assert(fc.asyncProperty(hostConfigArbitrary, steps, fc.integer(), run), {
      seed: FUZZ_SEED,
      numRuns: runs,
      ...(FUZZ_PATH === undefined ? {} : { path: FUZZ_PATH }),
    });
  } finally {
    process.stdout.write(`driver model exercised: ${JSON.stringify(coverage)}\n`);
  }
}

describe("the driver against its model", () => {
  beforeEach(() => {
    // Timers and the clock only: microtasks and setImmediate stay real (see `flush`).
    vi.useFakeTimers({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it(
    `keeps every invariant after every step (${FUZZ_RUNS} runs from seed ${FUZZ_SEED})`,
    () =>
      assertModel(
        "every step",
        fc.array(stepArbitrary, { minLength: 1, maxLength: FUZZ_MAX_STEPS, size: "max" }),
        FUZZ_RUNS,
      ),
    TIMEOUT_MS,
  );

  it(
    "keeps them when one sender floods a widget before its negotiation",
    () => {
      const around = fc.array(stepArbitrary, { maxLength: 8 });
      const steps = fc
        .tuple(around, floodStepArbitrary, around)
        .map(([before, flood, after]) => [...before, flood, ...after]);
      return assertModel("one sender's flood", steps, Math.ceil(FUZZ_RUNS / 4));
    },
    TIMEOUT_MS,
  );
});

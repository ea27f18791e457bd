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
import { hostConfigArbitrary, type Step, stepArbitrary } from "./steps.js";

function describeStep(step: Step, index: number): string {
  return `step ${index + 1} ${JSON.stringify(step)}`;
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
    async () => {
      process.stdout.write(
        `driver model: ${FUZZ_RUNS} runs, seed ${FUZZ_SEED} (replay: WIDGET_TODEVICE_FUZZ_SEED=${FUZZ_SEED})\n`,
      );
      try {
        await fc.assert(
          fc.asyncProperty(
            hostConfigArbitrary,
            fc.array(stepArbitrary, { minLength: 1, maxLength: FUZZ_MAX_STEPS }),
            fc.integer(),
            async (config, steps, jitterSeed) => {
              // The driver's retry jitter draws from Math.random: seeded, a run replays exactly.
              const random = vi.spyOn(Math, "random").mockImplementation(mulberry32(jitterSeed));
              const run = new ModelRun(config);
              try {
                await run.start();
                run.check("the widgets loaded");
                for (const [index, step] of steps.entries()) {
                  await run.apply(step);
                  run.check(describeStep(step, index));
                }
                await run.drain();
                run.checkEnd();
              } finally {
                run.stop();
                random.mockRestore();
              }
            },
          ),
          {
            seed: FUZZ_SEED,
            numRuns: FUZZ_RUNS,
            ...(FUZZ_PATH === undefined ? {} : { path: FUZZ_PATH }),
          },
        );
      } finally {
        process.stdout.write(`driver model exercised: ${JSON.stringify(coverage)}\n`);
      }
    },
    Math.max(60_000, FUZZ_RUNS * 3_000),
  );
});

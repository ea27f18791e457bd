// Plain JavaScript: vitest loads configs' imports from node_modules without compiling them.
import { defineConfig, mergeConfig } from "vitest/config";

/**
 * The project's test preset. `environment` picks `node` for pure code and `happy-dom` for code
 * that needs `window` and `postMessage` (matrix-widget-api). A package with a second suite
 * (e.g. on Synapse) gives it its own `include` and `results` name: every
 * `test-results/<results>.json` is counted by the workspace's test summary. These two are
 * options rather than overrides because `mergeConfig` concatenates arrays.
 * @param {{ environment?: "node" | "happy-dom", include?: string[], results?: string }} [options]
 * @param {import("vitest/config").ViteUserConfig} [overrides]
 * @returns {import("vitest/config").ViteUserConfig}
 */
export function testPreset(options = {}, overrides = {}) {
  return mergeConfig(
    defineConfig({
      test: {
        environment: options.environment ?? "node",
        include: options.include ?? ["test/**/*.test.ts"],
        reporters: [
          "default",
          ["json", { outputFile: `test-results/${options.results ?? "vitest"}.json` }],
        ],
        testTimeout: 20_000,
        restoreMocks: true,
      },
    }),
    overrides,
  );
}

// Plain JavaScript: vitest loads configs' imports from node_modules without compiling them.
import { defineConfig, mergeConfig } from "vitest/config";

/**
 * The project's test preset. `environment` picks `node` for pure code and `happy-dom` for code
 * that needs `window` and `postMessage` (matrix-widget-api).
 * @param {{ environment?: "node" | "happy-dom" }} [options]
 * @param {import("vitest/config").ViteUserConfig} [overrides]
 * @returns {import("vitest/config").ViteUserConfig}
 */
export function testPreset(options = {}, overrides = {}) {
  return mergeConfig(
    defineConfig({
      test: {
        environment: options.environment ?? "node",
        include: ["test/**/*.test.ts"],
        reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
        testTimeout: 20_000,
        restoreMocks: true,
      },
    }),
    overrides,
  );
}

import { defineConfig, mergeConfig, type ViteUserConfig } from "vitest/config";

/**
 * The project's test preset. `environment` picks `node` for pure code and `happy-dom` for code
 * that needs `window` and `postMessage` (matrix-widget-api).
 */
export function testPreset(
  options: { environment?: "node" | "happy-dom" } = {},
  overrides: ViteUserConfig = {},
): ViteUserConfig {
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

import type { ViteUserConfig } from "vitest/config";

export declare function testPreset(
  options?: {
    environment?: "node" | "happy-dom";
    /** Test files, relative to the package (default `test/**\/*.test.ts`). */
    include?: string[];
    /** The JSON report's name in `test-results/` (default `vitest`). */
    results?: string;
  },
  overrides?: ViteUserConfig,
): ViteUserConfig;

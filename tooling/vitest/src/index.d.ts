import type { ViteUserConfig } from "vitest/config";

export declare function testPreset(
  options?: { environment?: "node" | "happy-dom" },
  overrides?: ViteUserConfig,
): ViteUserConfig;

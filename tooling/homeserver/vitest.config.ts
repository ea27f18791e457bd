import { testPreset } from "@widget-todevice/vitest-config";

export default testPreset(
  { environment: "node" },
  {
    test: {
      globalSetup: ["./src/vitest-global-setup.ts"],
      testTimeout: 300_000,
      hookTimeout: 600_000,
    },
  },
);

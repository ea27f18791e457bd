import { testPreset } from "@widget-todevice/vitest-config";

// End-to-end: the built demo in real Chromium. `pnpm test` builds first (see package.json).
export default testPreset(
  { environment: "node" },
  {
    test: {
      globalSetup: ["test/chromium-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 300_000,
      // One Chromium at a time: the machine has two cores and Synapse wants one.
      fileParallelism: false,
    },
  },
);

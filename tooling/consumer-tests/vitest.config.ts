import { testPreset } from "@widget-todevice/vitest-config";

// Three releases, and installs with npm, pnpm and Yarn from a local registry: minutes, not
// seconds. The tests of the one file share that registry and run in order.
export default testPreset(
  { environment: "node" },
  { test: { testTimeout: 300_000, hookTimeout: 600_000 } },
);

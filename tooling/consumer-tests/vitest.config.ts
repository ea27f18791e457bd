import { testPreset } from "@widget-todevice/vitest-config";

// Packing and `npm install` from the registry take tens of seconds.
export default testPreset(
  { environment: "node" },
  { test: { testTimeout: 300_000, hookTimeout: 300_000 } },
);

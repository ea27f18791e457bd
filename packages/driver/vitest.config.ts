import { testPreset } from "@widget-todevice/vitest-config";

export default testPreset(
  { environment: "happy-dom" },
  { test: { setupFiles: ["test/setup.ts"] } },
);

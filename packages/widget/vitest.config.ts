import { fileURLToPath } from "node:url";
import { testPreset } from "@widget-todevice/vitest-config";

export default testPreset(
  { environment: "happy-dom" },
  {
    // examples/ import the package by name, as a widget author would (tsconfig maps it too).
    resolve: {
      alias: {
        "@widget-todevice/widget": fileURLToPath(new URL("./src/index.ts", import.meta.url)),
      },
    },
  },
);

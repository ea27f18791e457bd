import { testPreset } from "@widget-todevice/vitest-config";

export default testPreset({ environment: "node" });

import { testPreset } from "@widget-todevice/vitest-config";

// examples/ import the package by name, as a widget author would: that resolves through the
// package's own `exports` to its build (turbo builds before it tests).
export default testPreset({ environment: "happy-dom" });

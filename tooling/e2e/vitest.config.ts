import { testPreset } from "@widget-todevice/vitest-config";

// End-to-end: a real Synapse (started once by the homeserver package's global setup), real
// matrix-js-sdk clients with Rust crypto and real Olm, the driver and the widget package as
// published (by name, from their builds).
export default testPreset(
  { environment: "node" },
  {
    test: {
      setupFiles: ["test/setup.ts"],
      globalSetup: ["@widget-todevice/homeserver/vitest-global-setup"],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      // matrix-js-sdk's MatrixRTC logs every room it sees through a logger no option reaches.
      onConsoleLog: (log) => !log.startsWith("[MatrixRTCSession"),
      // One Synapse for every file: files run one after another so timings stay meaningful.
      fileParallelism: false,
    },
  },
);

import { testPreset } from "@widget-todevice/vitest-config";

// On a real Synapse (started once by the homeserver package's global setup) with real Olm:
// matrix-js-sdk clients with Rust crypto run the driver; the widgets are the in-memory suite's.
// Results go to their own file so the workspace summary counts them beside the in-memory ones.
export default testPreset(
  { environment: "node", include: ["test-synapse/**/*.test.ts"], results: "vitest-synapse" },
  {
    test: {
      setupFiles: ["test/setup.ts"],
      globalSetup: ["@widget-todevice/homeserver/vitest-global-setup"],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      onConsoleLog: (log) => !log.startsWith("[MatrixRTCSession"),
    },
  },
);

import { defineConfig } from "vitest/config";

// End-to-end: a real Synapse (started once by the homeserver package's global setup), real
// matrix-js-sdk clients with Rust crypto and real Olm. Results go to their own file so that the
// workspace summary counts them next to the unit tests'.
export default defineConfig({
  test: {
    environment: "node",
    include: ["test-e2e/**/*.test.ts"],
    setupFiles: ["test-e2e/setup.ts"],
    globalSetup: ["@widget-todevice/homeserver/vitest-global-setup"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest-e2e.json" }]],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    restoreMocks: true,
    // matrix-js-sdk's MatrixRTC logs every room it sees through a logger no option reaches.
    onConsoleLog: (log) => !log.startsWith("[MatrixRTCSession"),
    // One Synapse for every file: files run one after another so timings stay meaningful.
    fileParallelism: false,
  },
});

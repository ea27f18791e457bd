import { testPreset } from "@widget-todevice/vitest-config";

// In memory: the driver on `InMemoryHomeserver`, real matrix-widget-api on both sides, real
// matrix-js-sdk in the widget. Plain Node (@widget-todevice/matrix-clients/node-window supplies the page bits).
export default testPreset(
  { environment: "node" },
  {
    test: {
      setupFiles: ["test/setup.ts"],
      // matrix-js-sdk's MatrixRTC logs every room it sees through a logger no option reaches.
      onConsoleLog: (log) => !log.startsWith("[MatrixRTCSession"),
    },
  },
);

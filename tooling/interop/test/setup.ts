// The page bits first: matrix-js-sdk 43 needs `Promise.withResolvers` on Node 20.
import "@widget-todevice/matrix-clients/node-window";

import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { beforeEach, vi } from "vitest";

// matrix-widget-api logs every postMessage with console.log; keep the output readable.
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});

// matrix-js-sdk's global logger (RoomWidgetClient and MatrixRTC take no logger option for it).
if (process.env.WIDGET_TODEVICE_INTEROP_DEBUG !== "1") {
  (sdkLogger as { setLevel?: (level: string) => void }).setLevel?.("error");
}

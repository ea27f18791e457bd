import { beforeEach, vi } from "vitest";

import "@widget-todevice/matrix-clients/node-window";

// matrix-widget-api logs every postMessage with console.log; keep the output readable.
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});

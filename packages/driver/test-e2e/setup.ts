import { beforeEach, vi } from "vitest";

import "./support/node-window.js";

// matrix-widget-api logs every postMessage with console.log; keep the output readable.
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});

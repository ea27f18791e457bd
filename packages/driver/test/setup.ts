import { beforeEach, vi } from "vitest";

// matrix-widget-api logs every postMessage with console.log; keep test output readable.
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});

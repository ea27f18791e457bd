import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Four pages: the host (simulated Matrix clients), the demo widget they embed, a widget written
// against plain matrix-widget-api (what most widgets in the wild are), and an Element Call-style
// widget on matrix-js-sdk's embedded client (its own entry: the host page never loads the SDK
// for it; only the iframe does, when a call widget is opened).
const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default defineConfig({
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 5173 },
  build: {
    target: "es2022",
    // The homeserver mode chunk (matrix-js-sdk, ~0.8 MB) is loaded only in that mode.
    chunkSizeWarningLimit: 1_000,
    rolldownOptions: {
      input: {
        host: page("index.html"),
        widget: page("widget.html"),
        stock: page("stock-widget.html"),
        call: page("call-widget.html"),
      },
    },
  },
});

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Three pages: the host (simulated Matrix clients), the demo widget they embed, and a widget
// written against plain matrix-widget-api (what most widgets in the wild are).
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
      },
    },
  },
});

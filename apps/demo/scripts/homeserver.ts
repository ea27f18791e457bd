// `pnpm demo:homeserver`: the demo in homeserver mode. Starts the project's Synapse (or uses the
// one named by WIDGET_TODEVICE_HOMESERVER_URL or --homeserver), serves the built demo and prints
// the URL to open. Ctrl-C stops both.
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startHomeserver } from "@widget-todevice/homeserver";
import { preview } from "vite";

const { values } = parseArgs({
  options: {
    homeserver: { type: "string" },
    port: { type: "string", default: "5173" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

const given = values.homeserver ?? process.env.WIDGET_TODEVICE_HOMESERVER_URL;
const started =
  given === undefined
    ? await (async () => {
        process.stderr.write(
          "Starting Synapse (the project's harness; the first run provisions it)…\n",
        );
        return startHomeserver({ useEnvironment: false });
      })()
    : undefined;
const homeserverUrl = given ?? started?.baseUrl;
if (homeserverUrl === undefined) throw new Error("no homeserver");

const server = await preview({
  root: fileURLToPath(new URL("..", import.meta.url)),
  preview: { host: values.host, port: Number(values.port), strictPort: false, open: false },
});
const { port } = server.httpServer.address() as AddressInfo;
const url = `http://${values.host}:${port}/?homeserver=${encodeURIComponent(homeserverUrl)}`;
process.stdout.write(
  `\n  Homeserver: ${homeserverUrl}${started === undefined ? "" : " (Synapse, started for this demo)"}\n  Open:       ${url}\n              (the page asks before it registers accounts there)\n\n  Ctrl-C stops ${started === undefined ? "the demo" : "the demo and Synapse"}.\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  await started?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

import { startHomeserver } from "./homeserver.js";
import { stderrLog } from "./progress.js";
import { provisionSynapse } from "./provision.js";

const [command] = process.argv.slice(2);

async function provision(): Promise<void> {
  const started = performance.now();
  const result = await provisionSynapse();
  const seconds = ((performance.now() - started) / 1000).toFixed(3);
  stderrLog(
    `${result.built ? "built" : "already provisioned"}: Synapse ${result.synapseVersion} at ${result.root} (${seconds} s)`,
  );
}

/** Starts one server and keeps it until SIGINT or SIGTERM. */
async function start(): Promise<void> {
  const homeserver = await startHomeserver({
    ...(process.env.WIDGET_TODEVICE_HOMESERVER_PORT === undefined
      ? {}
      : { port: Number(process.env.WIDGET_TODEVICE_HOMESERVER_PORT) }),
  });
  const info = homeserver.info();
  process.stdout.write(
    [
      `WIDGET_TODEVICE_HOMESERVER_URL=${info.baseUrl}`,
      `WIDGET_TODEVICE_REGISTRATION_SECRET=${info.registrationSecret}`,
      `WIDGET_TODEVICE_SERVER_NAME=${info.serverName}`,
      "",
    ].join("\n"),
  );
  stderrLog(`log: ${homeserver.logFile ?? "(not managed here)"}; Ctrl-C stops it`);
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx),
  // and a second signal without a handler would kill it before stop() has finished.
  await new Promise<void>((resolve) => {
    process.on("SIGINT", () => resolve());
    process.on("SIGTERM", () => resolve());
  });
  stderrLog("stopping");
  await homeserver.stop();
}

async function main(): Promise<void> {
  switch (command) {
    case "provision":
      return provision();
    case "start":
      return start();
    default:
      process.stderr.write("usage: cli.ts provision | start\n");
      process.exitCode = 2;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

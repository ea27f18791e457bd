import { provisionSynapse } from "./provision.js";
import { stderrLog } from "./progress.js";

const [command] = process.argv.slice(2);

async function main(): Promise<void> {
  switch (command) {
    case "provision": {
      const started = performance.now();
      const result = await provisionSynapse();
      const seconds = ((performance.now() - started) / 1000).toFixed(3);
      stderrLog(`${result.built ? "built" : "already provisioned"}: Synapse ${result.synapseVersion} at ${result.root} (${seconds} s)`);
      return;
    }
    default:
      process.stderr.write("usage: cli.ts provision | start\n");
      process.exitCode = 2;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

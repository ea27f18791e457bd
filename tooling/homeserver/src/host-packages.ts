import { spawnSync } from "node:child_process";
import { runCommand } from "./command.js";
import { type Log, timed } from "./progress.js";

function aptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
}

/** True when `binary` is on the PATH. */
export function hasBinary(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

/** Installs a Debian package on the host with apt when `binary` is missing (needs root). */
export async function ensureHostPackage(options: {
  binary: string;
  package: string;
  log: Log;
  /** Where the binary is expected, when it is not on every PATH (e.g. /usr/sbin). */
  path?: string;
}): Promise<void> {
  const present = () =>
    options.path === undefined ? hasBinary(options.binary) : hasBinary(options.path);
  if (present()) return;
  await timed(options.log, `apt-get install ${options.package} (host)`, async () => {
    const install = () =>
      runCommand("apt-get", ["install", "-y", options.package], { env: aptEnv() });
    try {
      await install();
    } catch {
      // A fresh machine has no package lists yet.
      await runCommand("apt-get", ["update"], { env: aptEnv() });
      await install();
    }
  });
}

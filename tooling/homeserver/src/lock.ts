import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import type { Log } from "./progress.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A lock between processes (turbo runs several packages' test setups at once): a directory
 * made with mkdir, holding the owner's pid so that a crashed owner's lock can be taken over.
 */
export async function withDirectoryLock<T>(
  lockDir: string,
  log: Log,
  work: () => Promise<T>,
): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(await readFile(`${lockDir}/pid`, "utf8").catch(() => ""), 10);
    if (Number.isInteger(owner) && !isAlive(owner)) {
      log(`taking over the lock of exited process ${owner}: ${lockDir}`);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(
        `waiting for ${Number.isInteger(owner) ? `process ${owner}` : "another process"} (lock ${lockDir})`,
      );
      announced = true;
    }
    await sleep(500);
  }
  try {
    await writeFile(`${lockDir}/pid`, String(process.pid));
    return await work();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

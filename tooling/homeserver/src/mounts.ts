import { readFile } from "node:fs/promises";
import { runCommand } from "./command.js";

/** Mount points at or below `dir`, deepest first (the order they can be unmounted in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile("/proc/self/mountinfo", "utf8");
  const points = table
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    // mountinfo escapes spaces and other odd characters as octal.
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
    )
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

/**
 * Unmounts whatever an interrupted debootstrap left mounted under `dir` (it mounts /proc and
 * /sys in its target). Must succeed before the directory is deleted: deleting through a bind
 * mount of /dev would delete the host's /dev.
 */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await runCommand("umount", ["--lazy", point]);
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) {
    throw new Error(`still mounted under ${dir}: ${left.join(", ")}`);
  }
}

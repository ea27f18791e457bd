// Vitest global setup: Debian's Chromium drives these tests. On a fresh Debian machine (as root)
// it is installed with apt on first use, as the homeserver harness installs what Synapse needs;
// set CHROMIUM_PATH to use another Chromium.
import { ensureHostPackage } from "@widget-todevice/homeserver";

export default async function setup(): Promise<void> {
  if (process.env.CHROMIUM_PATH !== undefined) return;
  await ensureHostPackage({
    binary: "chromium",
    package: "chromium",
    path: "/usr/bin/chromium",
    log: (line: string) => process.stderr.write(`[chromium] ${line}\n`),
  });
}

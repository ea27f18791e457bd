import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CHROOT_ENV, chrootCommand } from "./chroot-command.js";
import { runCommand } from "./command.js";
import { ensureHostPackage } from "./host-packages.js";
import { withDirectoryLock } from "./lock.js";
import { unmountAllUnder } from "./mounts.js";
import { type Log, stderrLog, timed } from "./progress.js";

export const DEFAULT_SYNAPSE_ROOT = "/var/cache/widget-todevice/synapse-sid";

/** Bump when the steps below change, so that existing chroots are rebuilt. */
const RECIPE = 1;
const MARKER = ".widget-todevice-provisioned.json";

export interface ProvisionOptions {
  /** Where the chroot lives. Default: env `WIDGET_TODEVICE_SYNAPSE_ROOT`, else DEFAULT_SYNAPSE_ROOT. */
  root?: string;
  log?: Log;
}

export interface Provisioned {
  root: string;
  synapseVersion: string;
  /** True when this call built the chroot, false when it was already there. */
  built: boolean;
}

interface Marker {
  recipe: number;
  synapseVersion: string;
  provisionedAt: string;
}

export function synapseRoot(root?: string): string {
  return root ?? process.env.WIDGET_TODEVICE_SYNAPSE_ROOT ?? DEFAULT_SYNAPSE_ROOT;
}

async function readMarker(root: string): Promise<Marker | undefined> {
  try {
    const marker = JSON.parse(await readFile(join(root, MARKER), "utf8")) as Marker;
    return marker.recipe === RECIPE ? marker : undefined;
  } catch {
    return undefined;
  }
}

// One provisioning per root per process; other processes are kept out by the lock.
const inFlight = new Map<string, Promise<Provisioned>>();

/**
 * Makes sure a Debian sid chroot with Debian's matrix-synapse exists at the root. Idempotent: a
 * finished chroot is recognised by its marker file and left alone. A chroot is built under
 * `<root>.partial` and renamed into place only once complete, so an interrupted attempt never
 * looks finished; the next run deletes it and starts again.
 */
export async function provisionSynapse(options: ProvisionOptions = {}): Promise<Provisioned> {
  const root = synapseRoot(options.root);
  const marker = await readMarker(root);
  if (marker !== undefined) {
    return { root, synapseVersion: marker.synapseVersion, built: false };
  }
  let pending = inFlight.get(root);
  if (pending === undefined) {
    pending = provisionLocked(root, options.log ?? stderrLog).finally(() => inFlight.delete(root));
    inFlight.set(root, pending);
  }
  return pending;
}

async function provisionLocked(root: string, log: Log): Promise<Provisioned> {
  await mkdir(dirname(root), { recursive: true });
  return withDirectoryLock(`${root}.lock`, log, async () => {
    // Another process may have finished while this one waited for the lock.
    const marker = await readMarker(root);
    if (marker !== undefined) {
      return { root, synapseVersion: marker.synapseVersion, built: false };
    }
    const started = performance.now();
    log(`provisioning Synapse in a Debian sid chroot at ${root} (takes a minute or two, once)`);
    const partial = `${root}.partial`;
    for (const stale of [partial, root]) {
      if (existsSync(stale)) {
        log(`removing an unfinished or outdated chroot: ${stale}`);
        await removeChroot(stale);
      }
    }
    await ensureHostDebootstrap(log);
    await timed(log, "debootstrap --variant=minbase sid", () =>
      runCommand("debootstrap", ["--variant=minbase", "sid", partial]),
    );
    await configureApt(partial);
    const synapseVersion = await installSynapse(partial, log);
    const written: Marker = {
      recipe: RECIPE,
      synapseVersion,
      provisionedAt: new Date().toISOString(),
    };
    await writeFile(join(partial, MARKER), `${JSON.stringify(written, null, 2)}\n`);
    await rename(partial, root);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(`provisioned Synapse ${synapseVersion} in ${seconds} s at ${root}`);
    return { root, synapseVersion, built: true };
  });
}

async function removeChroot(dir: string): Promise<void> {
  await unmountAllUnder(dir);
  // --one-file-system: never follow into anything still mounted, whatever happened above.
  await runCommand("rm", ["-rf", "--one-file-system", dir]);
}

async function ensureHostDebootstrap(log: Log): Promise<void> {
  await ensureHostPackage({
    binary: "debootstrap",
    package: "debootstrap",
    path: "/usr/sbin/debootstrap",
    log,
  });
}

async function configureApt(root: string): Promise<void> {
  // Package scripts must not try to start services in the chroot.
  const policy = join(root, "usr/sbin/policy-rc.d");
  await writeFile(policy, "#!/bin/sh\nexit 101\n");
  await chmod(policy, 0o755);
  // sid's Release file has been seen expired.
  await writeFile(
    join(root, "etc/apt/apt.conf.d/99widget-todevice"),
    'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n',
  );
}

function inChroot(root: string, argv: readonly string[], input?: string) {
  const { command, args } = chrootCommand(root, argv);
  return runCommand(
    command,
    args,
    input === undefined ? { env: CHROOT_ENV } : { env: CHROOT_ENV, input },
  );
}

async function installSynapse(root: string, log: Log): Promise<string> {
  // Answers the package's debconf questions ahead so the install never prompts.
  await inChroot(
    root,
    ["debconf-set-selections"],
    [
      "matrix-synapse matrix-synapse/server-name string localhost",
      "matrix-synapse matrix-synapse/report-stats boolean false",
      "",
    ].join("\n"),
  );
  await timed(log, "apt-get update (chroot)", () => inChroot(root, ["apt-get", "update"]));
  await timed(log, "apt-get install matrix-synapse (chroot)", () =>
    inChroot(root, ["apt-get", "install", "-y", "--no-install-recommends", "matrix-synapse"]),
  );
  await inChroot(root, ["apt-get", "clean"]);
  const { stdout } = await inChroot(root, [
    "python3",
    "-c",
    "import synapse; print(synapse.__version__)",
  ]);
  return stdout.trim();
}

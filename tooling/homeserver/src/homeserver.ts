import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROOT_ENV, chrootCommand } from "./chroot-command.js";
import { type HomeserverClient, type HomeserverInfo, homeserverClient } from "./client.js";
import { lastLines } from "./command.js";
import { existingHomeserverFromEnv } from "./existing-homeserver.js";
import { freePort } from "./free-port.js";
import { type Log, stderrLog } from "./progress.js";
import { provisionSynapse } from "./provision.js";
import { signingKeyFile } from "./signing-key.js";
import { DATA_DIR_IN_CHROOT, synapseConfig } from "./synapse-config.js";

export interface StartHomeserverOptions {
  /** Default `localhost`. Give each of several servers its own. */
  serverName?: string;
  /** Default: a free port picked at start. */
  port?: number;
  /** Default `127.0.0.1`. */
  bindAddress?: string;
  /** Default: random. */
  registrationSecret?: string;
  /** Default: a new directory under `<tmpdir>/widget-todevice-homeserver/`. */
  dataDir?: string;
  /** Keep the data dir after stop(). Default: false for a made-up dir, true for a given one. */
  keepDataDir?: boolean;
  /** Merged over the generated homeserver.yaml (top-level keys replace). */
  config?: Record<string, unknown>;
  /** The chroot; see provisionSynapse. */
  root?: string;
  /** Default 60 s. */
  startTimeoutMs?: number;
  /** Honour `WIDGET_TODEVICE_HOMESERVER_URL` (use that server, start nothing). Default true. */
  useEnvironment?: boolean;
  log?: Log;
}

export interface Homeserver extends HomeserverClient {
  /** False when this handle points at a server started elsewhere (env `WIDGET_TODEVICE_HOMESERVER_URL`). */
  readonly managed: boolean;
  /** The data dir on the host (config, sqlite database, signing key, log); undefined when not managed. */
  readonly dataDir: string | undefined;
  /** Synapse's output (stdout and stderr). */
  readonly logFile: string | undefined;
  /** Plain data for the server, e.g. for vitest's `provide`. */
  info(): HomeserverInfo;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its data dir unless kept. Idempotent. */
  stop(): Promise<void>;
}

const PYTHON_SYNAPSE = ["python3", "-m", "synapse.app.homeserver"];
const CONFIG_IN_CHROOT = `${DATA_DIR_IN_CHROOT}/homeserver.yaml`;
const STOP_GRACE_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a real Synapse in the provisioned chroot (provisioning first if needed) and resolves
 * once its client API answers. Every call starts an independent server with its own data dir
 * and port, so several can run at once.
 */
export async function startHomeserver(options: StartHomeserverOptions = {}): Promise<Homeserver> {
  const log = options.log ?? stderrLog;
  if (options.useEnvironment !== false) {
    const existing = await existingHomeserverFromEnv();
    if (existing !== undefined) {
      log(`using the homeserver at ${existing.baseUrl} (WIDGET_TODEVICE_HOMESERVER_URL)`);
      return {
        ...existing,
        managed: false,
        dataDir: undefined,
        logFile: undefined,
        info: () => pickInfo(existing),
        stop: async () => {},
      };
    }
  }
  const { root } = await provisionSynapse({
    ...(options.root === undefined ? {} : { root: options.root }),
    log,
  });
  // Only a port picked here may be retried: another process can take it before Synapse binds.
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(root, options, log);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= attempts) throw error;
      log(`${error.message}; retrying on another port`);
    }
  }
}

class PortTakenError extends Error {}

function pickInfo(info: HomeserverInfo): HomeserverInfo {
  return {
    baseUrl: info.baseUrl,
    serverName: info.serverName,
    registrationSecret: info.registrationSecret,
  };
}

async function makeDataDir(serverName: string): Promise<string> {
  const parent = join(tmpdir(), "widget-todevice-homeserver");
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, `${serverName.replace(/[^A-Za-z0-9.-]/g, "_")}-`));
}

async function startOnce(
  root: string,
  options: StartHomeserverOptions,
  log: Log,
): Promise<Homeserver> {
  const started = performance.now();
  const serverName = options.serverName ?? "localhost";
  const bindAddress = options.bindAddress ?? "127.0.0.1";
  const port = options.port ?? (await freePort(bindAddress));
  const registrationSecret = options.registrationSecret ?? randomBytes(24).toString("hex");
  const dataDir = options.dataDir ?? (await makeDataDir(serverName));
  const keepDataDir =
    options.keepDataDir ??
    (options.dataDir !== undefined || process.env.WIDGET_TODEVICE_KEEP_HOMESERVER_DATA === "1");
  const logFile = join(dataDir, "homeserver.log");
  const baseUrl = `http://${bindAddress}:${port}`;
  log(`starting Synapse ${serverName} at ${baseUrl}; data dir ${dataDir}`);

  await mkdir(dataDir, { recursive: true });
  const config = {
    ...synapseConfig({
      serverName,
      bindAddress,
      port,
      registrationSecret,
      macaroonSecret: randomBytes(24).toString("hex"),
      formSecret: randomBytes(24).toString("hex"),
    }),
    ...options.config,
  };
  await writeFile(join(dataDir, "homeserver.yaml"), `${JSON.stringify(config, null, 2)}\n`);
  await mkdir(join(root, DATA_DIR_IN_CHROOT), { recursive: true });
  const binds = [{ from: dataDir, to: DATA_DIR_IN_CHROOT }];

  await writeFile(join(dataDir, "signing.key"), signingKeyFile(), { mode: 0o600 });

  const run = chrootCommand(root, [...PYTHON_SYNAPSE, "-c", CONFIG_IN_CHROOT], binds);
  const logFd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    // Its own process group, so stop() can signal everything it became.
    child = spawn(run.command, run.args, {
      env: CHROOT_ENV,
      stdio: ["ignore", logFd, logFd],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) =>
      resolve(signal === null ? `exit code ${code}` : `signal ${signal}`),
    );
    child.on("error", (error) => resolve(`spawn error: ${error.message}`));
  });
  let exitStatus: string | undefined;
  void exited.then((status) => {
    exitStatus = status;
  });

  const kill = async () => {
    if (exitStatus !== undefined || child.pid === undefined) return;
    signalGroup(child.pid, "SIGTERM");
    // A cleared timer: a pending one would hold the process (a test run, the CLI) open.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      log(`Synapse ${serverName} ignored SIGTERM for ${STOP_GRACE_MS} ms; killing it`);
      signalGroup(child.pid, "SIGKILL");
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    if (!keepDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (exitStatus !== undefined) {
      const tail = await logTail(logFile);
      if (/Address already in use/.test(tail)) {
        if (!keepDataDir) await rm(dataDir, { recursive: true, force: true });
        throw new PortTakenError(`Synapse ${serverName} could not bind ${baseUrl}: address in use`);
      }
      throw new Error(
        `Synapse ${serverName} exited during startup (${exitStatus}); log ${logFile}:\n${tail}`,
      );
    }
    if (await answers(`${baseUrl}/_matrix/client/versions`)) break;
    if (performance.now() > deadline) {
      const tail = await logTail(logFile);
      // The data dir stays for inspection.
      await kill().catch(() => {});
      throw new Error(
        `Synapse ${serverName} did not answer at ${baseUrl} within ${timeoutMs} ms; log ${logFile}:\n${tail}`,
      );
    }
    await sleep(100);
  }
  log(
    `Synapse ${serverName} is up at ${baseUrl} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const info: HomeserverInfo = { baseUrl, serverName, registrationSecret };
  return {
    ...homeserverClient(info),
    managed: true,
    dataDir,
    logFile,
    info: () => ({ ...info }),
    stop,
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // Already gone.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, "utf8").catch(() => "(no log written)");
  return lastLines(text, 40);
}

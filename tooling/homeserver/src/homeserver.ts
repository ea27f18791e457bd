import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BindMount, CHROOT_ENV, chrootCommand } from "./chroot-command.js";
import { type HomeserverClient, type HomeserverInfo, homeserverClient } from "./client.js";
import { lastLines } from "./command.js";
import { existingHomeserverFromEnv } from "./existing-homeserver.js";
import { freePort } from "./free-port.js";
import { type Log, stderrLog } from "./progress.js";
import { provisionSynapse } from "./provision.js";
import { signingKeyFile } from "./signing-key.js";
import {
  DATA_DIR_IN_CHROOT,
  federationListener,
  federationSynapseConfig,
  synapseConfig,
} from "./synapse-config.js";
import type { ServerCertificate } from "./tls.js";

/**
 * Makes a server federate (see `startFederation`, which fills this in for a set of servers).
 * The server's name must carry the federation port (`hs1.localhost:18448`), so that peers connect
 * there directly, without `.well-known` or SRV lookups.
 */
export interface FederationOptions {
  /** Port of the TLS listener for `federation` and `keys`: the port in the server name. */
  port: number;
  /** Certificate and key (PEM files on the host) for the server name's host, from `caFile`'s CA. */
  certificate: ServerCertificate;
  /** The only CA this server trusts for federation (PEM file on the host). */
  caFile: string;
  /** Every server name of the federation, this one included, with ports. */
  serverNames: ReadonlyArray<string>;
}

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
  /** Federate with other servers over loopback; default: federation off. */
  federation?: FederationOptions;
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
  /** The TLS federation listener's port, for a federating server. */
  readonly federationPort: number | undefined;
  /** Whether Synapse is running (false after `halt()` or `stop()`). */
  isRunning(): boolean;
  /**
   * Stops Synapse (as `stop()` does) but keeps everything it needs to come back: data dir,
   * database, signing key, config, ports. For fault tests: a server that goes away for a while.
   */
  halt(): Promise<void>;
  /**
   * Starts Synapse again with the same data dir, signing key, server name and ports (halting
   * it first if it runs), and resolves once its client API answers. Not after `stop()`.
   */
  restart(): Promise<void>;
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
        federationPort: undefined,
        isRunning: () => true,
        halt: () => Promise.reject(new Error("cannot halt a homeserver started elsewhere")),
        restart: () => Promise.reject(new Error("cannot restart a homeserver started elsewhere")),
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
  const serverName = options.serverName ?? "localhost";
  const bindAddress = options.bindAddress ?? "127.0.0.1";
  const federation = options.federation;
  if (federation !== undefined && !serverName.endsWith(`:${federation.port}`)) {
    throw new Error(
      `a federating server's name must end with its federation port: ${serverName} does not end with :${federation.port}`,
    );
  }
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
  const base = synapseConfig({
    serverName,
    bindAddress,
    port,
    registrationSecret,
    macaroonSecret: randomBytes(24).toString("hex"),
    formSecret: randomBytes(24).toString("hex"),
  });
  const config: Record<string, unknown> = {
    ...base,
    ...(federation === undefined
      ? {}
      : {
          ...federationSynapseConfig({
            bindAddress,
            federationPort: federation.port,
            serverNames: federation.serverNames,
          }),
          listeners: [
            ...(base.listeners as unknown[]),
            federationListener(bindAddress, federation.port),
          ],
        }),
    ...options.config,
  };
  await writeFile(join(dataDir, "homeserver.yaml"), `${JSON.stringify(config, null, 2)}\n`);
  await mkdir(join(root, DATA_DIR_IN_CHROOT), { recursive: true });
  const binds: BindMount[] = [{ from: dataDir, to: DATA_DIR_IN_CHROOT }];
  if (federation !== undefined) binds.push(...(await prepareFederation(dataDir, federation)));

  await writeFile(join(dataDir, "signing.key"), signingKeyFile(), { mode: 0o600 });

  const launch = () => launchSynapse({ root, binds, serverName, baseUrl, logFile, log, options });
  let synapse: Launched;
  try {
    synapse = await launch();
  } catch (error) {
    if (error instanceof PortTakenError && !keepDataDir)
      await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  const halt = () => synapse.kill();
  const stop = async () => {
    stopped = true;
    await synapse.kill();
    if (!keepDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  const restart = async () => {
    if (stopped) throw new Error(`Synapse ${serverName} was stopped (its data dir is gone)`);
    await synapse.kill();
    // Same data dir, config, signing key and ports: only the process is new.
    synapse = await launch();
  };

  const info: HomeserverInfo = { baseUrl, serverName, registrationSecret };
  return {
    ...homeserverClient(info),
    managed: true,
    dataDir,
    logFile,
    info: () => ({ ...info }),
    stop,
    federationPort: federation?.port,
    isRunning: () => !stopped && synapse.isRunning(),
    halt,
    restart,
  };
}

/**
 * The files a federating server needs in its data dir, and the bind mounts that make the chroot
 * see a private hosts file (every federation name resolving to the bind address, i.e. loopback)
 * and a resolver that reaches nothing: no name outside the federation resolves, so no traffic
 * can leave the machine whatever Synapse tries.
 */
async function prepareFederation(
  dataDir: string,
  federation: FederationOptions,
): Promise<BindMount[]> {
  await copyFile(federation.certificate.certFile, join(dataDir, "tls.crt"));
  await copyFile(federation.certificate.keyFile, join(dataDir, "tls.key"));
  await copyFile(federation.caFile, join(dataDir, "federation-ca.crt"));
  const hosts = [...new Set(federation.serverNames.map(hostOf))];
  await writeFile(
    join(dataDir, "hosts"),
    [
      "# Private to this test server (bind-mounted over /etc/hosts in its mount namespace).",
      `127.0.0.1\tlocalhost ${hosts.join(" ")}`,
      "::1\tlocalhost ip6-localhost ip6-loopback",
      "",
    ].join("\n"),
  );
  // Nothing listens on 127.0.0.1:53 here: every DNS query fails at once.
  await writeFile(
    join(dataDir, "resolv.conf"),
    "# Private to this test server: no resolver is reachable.\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
  );
  return [
    { from: join(dataDir, "hosts"), to: "/etc/hosts" },
    { from: join(dataDir, "resolv.conf"), to: "/etc/resolv.conf" },
  ];
}

/** `hs1.localhost:18448` -> `hs1.localhost` (IPv6 literals keep their brackets). */
export function hostOf(serverName: string): string {
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(serverName);
  return match?.[1] ?? serverName;
}

interface Launched {
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Spawns Synapse in the chroot and resolves once its client API answers. */
async function launchSynapse(input: {
  root: string;
  binds: BindMount[];
  serverName: string;
  baseUrl: string;
  logFile: string;
  log: Log;
  options: StartHomeserverOptions;
}): Promise<Launched> {
  const { root, binds, serverName, baseUrl, logFile, log, options } = input;
  const started = performance.now();
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

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (exitStatus !== undefined) {
      const tail = await logTail(logFile);
      if (/Address already in use/.test(tail)) {
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
  return { isRunning: () => exitStatus === undefined, kill };
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

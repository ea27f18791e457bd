import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import {
  type Homeserver,
  hostOf,
  type StartHomeserverOptions,
  startHomeserver,
} from "./homeserver.js";
import { type Log, stderrLog } from "./progress.js";
import { provisionSynapse } from "./provision.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueServerCertificate,
} from "./tls.js";

export interface StartFederationOptions {
  /** How many servers; default 2. */
  servers?: number;
  /**
   * Host names of the servers (no port; the harness adds each server's federation port).
   * Default `hs1.localhost`, `hs2.localhost`, ... They resolve to 127.0.0.1 inside the servers'
   * chroot only.
   */
  hosts?: ReadonlyArray<string>;
  /** Merged over every server's homeserver.yaml (top-level keys replace). */
  config?: Record<string, unknown>;
  /** Keep the data dirs and the CA after stop(). Default: env `WIDGET_TODEVICE_KEEP_HOMESERVER_DATA=1`. */
  keepDataDirs?: boolean;
  root?: string;
  startTimeoutMs?: number;
  log?: Log;
}

export interface Federation {
  /** The servers, in the order of `hosts`; names like `hs1.localhost:40123`. */
  readonly servers: ReadonlyArray<Homeserver>;
  /** The private CA every server trusts (PEM), e.g. to call a federation listener from a test. */
  readonly ca: CertificateAuthority;
  /** Where the CA and the certificates are. */
  readonly dir: string;
  /**
   * GETs a path from a server's federation listener over TLS as a peer would: to 127.0.0.1,
   * presenting the server's name, trusting only the federation's CA.
   */
  federationGet(server: Homeserver, path: string): Promise<{ status: number; body: string }>;
  /** Stops every server and removes the data dirs and the CA unless kept. */
  stop(): Promise<void>;
}

/**
 * Starts `servers` Synapse servers that federate with each other over loopback only:
 * - server names carry their federation port (`hs1.localhost:40123`), so Synapse connects there
 *   directly, without `.well-known` or SRV;
 * - each server has a TLS listener for `federation` and `keys` on that port, with a certificate
 *   from a CA made for this federation with openssl, and trusts only that CA;
 * - loopback is allowed as a federation target (`ip_range_whitelist`), federation is limited to
 *   these names, no key servers;
 * - the names resolve to 127.0.0.1 inside the servers' chroot only (a private hosts file in their
 *   mount namespace) and their resolver reaches nothing, so no traffic leaves the machine.
 * Each server also has its usual plain-HTTP client listener; clients never need the names.
 */
export async function startFederation(options: StartFederationOptions = {}): Promise<Federation> {
  const log = options.log ?? stderrLog;
  const count = options.servers ?? 2;
  const hosts = options.hosts ?? Array.from({ length: count }, (_, i) => `hs${i + 1}.localhost`);
  if (hosts.length !== count) throw new Error(`${count} servers but ${hosts.length} host names`);
  const keep = options.keepDataDirs ?? process.env.WIDGET_TODEVICE_KEEP_HOMESERVER_DATA === "1";
  // Provision once, before the servers start side by side.
  const { root } = await provisionSynapse({
    ...(options.root === undefined ? {} : { root: options.root }),
    log,
  });
  const parent = join(tmpdir(), "widget-todevice-homeserver");
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, "federation-"));
  const started: Homeserver[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((server) => server.stop()));
    if (!keep) await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = await createCertificateAuthority(dir, log);
    const ports = await distinctFreePorts(count);
    const serverNames = hosts.map((host, i) => `${host}:${ports[i]}`);
    const certificates = await Promise.all(
      hosts.map((host) => issueServerCertificate(ca, host, dir)),
    );
    const servers = await Promise.all(
      serverNames.map(async (serverName, i) => {
        const serverOptions: StartHomeserverOptions = {
          serverName,
          root,
          useEnvironment: false,
          log,
          federation: {
            port: ports[i] as number,
            certificate: certificates[i] as (typeof certificates)[number],
            caFile: ca.certFile,
            serverNames,
          },
          ...(keep ? { keepDataDir: true } : {}),
          ...(options.config === undefined ? {} : { config: options.config }),
          ...(options.startTimeoutMs === undefined
            ? {}
            : { startTimeoutMs: options.startTimeoutMs }),
        };
        const server = await startHomeserver(serverOptions);
        started.push(server);
        return server;
      }),
    );
    return {
      servers,
      ca,
      dir,
      federationGet: (server, path) => federationGet(ca, server, path),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** GET over TLS to a federation listener, trusting the federation's CA and checking the name. */
async function federationGet(
  ca: CertificateAuthority,
  server: Homeserver,
  path: string,
): Promise<{ status: number; body: string }> {
  const port = server.federationPort;
  if (port === undefined) throw new Error(`${server.serverName} does not federate`);
  const caPem = await readFile(ca.certFile, "utf8");
  return new Promise((resolve, reject) => {
    const req = request(
      // Loopback, presenting the server's name for SNI and the certificate check.
      { host: "127.0.0.1", port, path, servername: hostOf(server.serverName), ca: caPem },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

// A throw-away npm registry: Verdaccio in its own process on a loopback port, with its storage,
// users and configuration in a fresh temporary directory. Our scope is served only from what is
// published to it; every other package is proxied from the upstream registry.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const verdaccioBin = join(require.resolve("verdaccio/package.json"), "..", "bin", "verdaccio");

/** Asks the kernel for a port that is free right now on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} dir
 * @param {string} upstream
 * @param {Record<string, string>} publishers
 */
function config(dir, upstream, publishers) {
  const restricted = Object.entries(publishers)
    .map(([name, user]) => `  ${JSON.stringify(name)}:\n    access: $all\n    publish: ${user}\n`)
    .join("");
  return `storage: ${JSON.stringify(join(dir, "storage"))}
auth:
  htpasswd:
    file: ${JSON.stringify(join(dir, "htpasswd"))}
    max_users: 100
uplinks:
  upstream:
    url: ${JSON.stringify(upstream)}
    timeout: 60s
packages:
${restricted}  "@widget-todevice/*":
    access: $all
    publish: $authenticated
    unpublish: $authenticated
  "**":
    access: $all
    publish: $authenticated
    proxy: upstream
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
`;
}

/**
 * Starts a registry and signs up one publishing user, `release`. `publishers` restricts
 * publishing of a package to one user (to see a release fail half way).
 * @param {{ upstream?: string, publishers?: Record<string, string> }} [options]
 */
export async function startRegistry(options = {}) {
  const upstream = options.upstream ?? "https://registry.npmjs.org/";
  const dir = mkdtempSync(join(tmpdir(), "widget-todevice-registry-"));
  writeFileSync(join(dir, "config.yaml"), config(dir, upstream, options.publishers ?? {}));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(
    process.execPath,
    [verdaccioBin, "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilUp(url, exited, () => output);
    const token = await signUp(url, "release", "release-password");
    return {
      url,
      port,
      dir,
      token,
      stop,
      log: () => output,
      signUp: (/** @type {string} */ name) => signUp(url, name, `${name}-password`),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** @param {string} url @param {Promise<unknown>} exited @param {() => string} output */
async function waitUntilUp(url, exited, output) {
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  for (let attempt = 0; attempt < 300; attempt++) {
    if (gone) throw new Error(`Verdaccio exited before it answered on ${url}:\n${output()}`);
    try {
      const response = await fetch(`${url}-/ping`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Verdaccio did not answer on ${url} within 30 s:\n${output()}`);
}

/**
 * `npm adduser` by hand: the registry answers with a token for the new user.
 * @param {string} url @param {string} name @param {string} password
 */
async function signUp(url, name, password) {
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name,
      password,
      type: "user",
      roles: [],
      date: new Date().toISOString(),
    }),
  });
  const body = await response.json();
  if (!response.ok || typeof body.token !== "string") {
    throw new Error(
      `could not sign up ${name} on ${url}: ${response.status} ${JSON.stringify(body)}`,
    );
  }
  return body.token;
}

/**
 * The `.npmrc` lines that point npm and pnpm at `registry` with its token, for a user config
 * file in a temporary directory (`npm_config_userconfig`): tracked files are never edited.
 * @param {{ url: string, token: string }} registry
 * @param {string} [token] another user's token than the registry's first
 */
export function npmrcFor(registry, token = registry.token) {
  const host = registry.url.replace(/^https?:/, "");
  return `registry=${registry.url}\n${host}:_authToken=${token}\n`;
}

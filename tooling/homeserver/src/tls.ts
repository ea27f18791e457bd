import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./command.js";
import { ensureHostPackage } from "./host-packages.js";
import type { Log } from "./progress.js";

/**
 * A private certificate authority for federation between test servers, made with the openssl
 * CLI (node:crypto cannot write X.509 certificates). Servers present certificates it issued on
 * their federation listeners and trust only it (`federation_custom_ca_list`).
 */
export interface CertificateAuthority {
  /** PEM certificate: what servers (and tests) trust. */
  readonly certFile: string;
  /** PEM private key; stays in the federation's directory. */
  readonly keyFile: string;
}

export interface ServerCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Certificates live for the test run; two days leave room for a slow one over midnight. */
const DAYS = "2";

async function openssl(args: readonly string[]): Promise<void> {
  await runCommand("openssl", args);
}

/** Installs openssl with apt if the host has none. */
export async function ensureOpenssl(log: Log): Promise<void> {
  await ensureHostPackage({ binary: "openssl", package: "openssl", log });
}

/** `openssl req` arguments for a new unencrypted P-256 key written to `keyFile`. */
function newKeyArgs(keyFile: string): string[] {
  return [
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
  ];
}

/** A new CA (P-256 key, self-signed) in `dir`: `ca.crt` and `ca.key`. */
export async function createCertificateAuthority(
  dir: string,
  log: Log,
): Promise<CertificateAuthority> {
  await ensureOpenssl(log);
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  await openssl([
    "req",
    "-x509",
    ...newKeyArgs(keyFile),
    "-out",
    certFile,
    "-days",
    DAYS,
    "-subj",
    `/CN=widget-todevice test federation CA ${randomBytes(4).toString("hex")}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { certFile, keyFile };
}

/**
 * A certificate for `host` (a DNS name without port, e.g. `hs1.localhost`) issued by `ca`, in
 * `dir` as `<host>.crt` and `<host>.key`. The name is in subjectAltName, where TLS clients
 * (Synapse's federation client included) look for it.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  host: string,
  dir: string,
): Promise<ServerCertificate> {
  if (!existsSync(ca.keyFile)) throw new Error(`no CA key at ${ca.keyFile}`);
  const base = join(dir, host.replace(/[^A-Za-z0-9.-]/g, "_"));
  const keyFile = `${base}.key`;
  const csrFile = `${base}.csr`;
  const certFile = `${base}.crt`;
  const extFile = `${base}.ext`;
  await writeFile(
    extFile,
    [
      `subjectAltName=DNS:${host}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"),
  );
  await openssl(["req", ...newKeyArgs(keyFile), "-out", csrFile, "-subj", `/CN=${host}`]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    DAYS,
    "-extfile",
    extFile,
    "-out",
    certFile,
  ]);
  return { certFile, keyFile };
}

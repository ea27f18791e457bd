import { randomBytes } from "node:crypto";

/**
 * A Synapse signing key file, as `--generate-keys` writes it: `ed25519 <version> <seed>` with the
 * 32-byte ed25519 seed in unpadded base64. Made here because `--generate-keys` is a second
 * Python start that costs about 2 s per server (importing Synapse dominates).
 */
export function signingKeyFile(): string {
  const version = `a_${randomBytes(3).toString("base64url").slice(0, 4)}`;
  const seed = randomBytes(32).toString("base64").replace(/=+$/, "");
  return `ed25519 ${version} ${seed}\n`;
}

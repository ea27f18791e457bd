import type { JsonObject } from "@widget-todevice/codec";

// The in-memory transport's stand-in for Olm: the same envelope shape and roughly the same size
// as a real `m.room.encrypted` to-device message, but "encrypted" with base64 only. It is a
// simulation for tests and demos, never a cipher.

export const OLM_ALGORITHM = "m.olm.v1.curve25519-aes-sha2";

/** The identity keys of one simulated device (unpadded base64, like real ones). */
export interface SimulatedDeviceKeys {
  readonly userId: string;
  readonly deviceId: string;
  readonly curve25519: string;
  readonly ed25519: string;
}

/** What a real Olm plaintext carries besides the event (MSC4147 adds `sender_device_keys`). */
export interface OlmPlaintext {
  readonly type: string;
  readonly content: JsonObject;
  readonly sender: string;
  readonly sender_device: string;
  readonly keys: { readonly ed25519: string };
  readonly recipient: string;
  readonly recipient_keys: { readonly ed25519: string };
  readonly sender_device_keys: JsonObject;
}

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/=+$/, "");
}

function fromBase64(text: string): string {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** 32 random bytes as unpadded base64: the length of a real Curve25519 or Ed25519 key. */
export function randomKey(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

export function seal(
  from: SimulatedDeviceKeys,
  to: SimulatedDeviceKeys,
  type: string,
  content: JsonObject,
): JsonObject {
  const plaintext: OlmPlaintext = {
    type,
    content,
    sender: from.userId,
    sender_device: from.deviceId,
    keys: { ed25519: from.ed25519 },
    recipient: to.userId,
    recipient_keys: { ed25519: to.ed25519 },
    sender_device_keys: {
      algorithms: [OLM_ALGORITHM, "m.megolm.v1.aes-sha2"],
      device_id: from.deviceId,
      keys: {
        [`curve25519:${from.deviceId}`]: from.curve25519,
        [`ed25519:${from.deviceId}`]: from.ed25519,
      },
      signatures: {
        [from.userId]: { [`ed25519:${from.deviceId}`]: `${from.ed25519}${from.ed25519}` },
      },
      user_id: from.userId,
    },
  };
  return {
    algorithm: OLM_ALGORITHM,
    sender_key: from.curve25519,
    ciphertext: { [to.curve25519]: { type: 0, body: toBase64(JSON.stringify(plaintext)) } },
  };
}

/** The plaintext for `to`, or `undefined` when the envelope is not for it or not readable. */
export function open(
  to: SimulatedDeviceKeys,
  envelope: unknown,
): { senderKey: string; plaintext: OlmPlaintext } | undefined {
  if (typeof envelope !== "object" || envelope === null) return undefined;
  const { algorithm, sender_key: senderKey, ciphertext } = envelope as Record<string, unknown>;
  if (algorithm !== OLM_ALGORITHM || typeof senderKey !== "string") return undefined;
  if (typeof ciphertext !== "object" || ciphertext === null) return undefined;
  const mine = Object.hasOwn(ciphertext, to.curve25519)
    ? (ciphertext as Record<string, unknown>)[to.curve25519]
    : undefined;
  const body =
    typeof mine === "object" && mine !== null ? (mine as Record<string, unknown>).body : undefined;
  if (typeof body !== "string") return undefined;
  try {
    return { senderKey, plaintext: JSON.parse(fromBase64(body)) as OlmPlaintext };
  } catch {
    return undefined;
  }
}

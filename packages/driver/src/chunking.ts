import type { DeviceMessage } from "./transport.js";

// Section 6: one large fan-out never becomes one oversized `/sendToDevice` request.

export interface ChunkLimits {
  /** Most device messages in one request. */
  readonly maxMessagesPerRequest: number;
  /** Most body bytes in one request (a message larger than this travels alone). */
  readonly maxBytesPerRequest: number;
}

/**
 * Defaults: an Element Call key is ~1.7 KB per Olm ciphertext, so 100 of them are ~170 KB, a
 * body every homeserver and reverse proxy accepts (nginx's default `client_max_body_size` is
 * 1 MiB). 256 KiB keeps larger contents well under that too, and 100 messages matches the most
 * to-device events one `/sync` returns, so one request is at most one sync of the receiver.
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
  maxMessagesPerRequest: 100,
  maxBytesPerRequest: 262_144,
};

export interface SizedMessage extends DeviceMessage {
  /** The bytes of `content` as JSON. */
  readonly bytes: number;
}

// `"@user:server":{"DEVICE":` plus separators, per message.
function entryBytes(message: SizedMessage): number {
  return message.bytes + message.userId.length + message.deviceId.length + 8;
}

/** Splits messages, in order, into requests within both limits. */
export function chunkMessages(
  messages: ReadonlyArray<SizedMessage>,
  limits: ChunkLimits,
): ReadonlyArray<ReadonlyArray<SizedMessage>> {
  const chunks: SizedMessage[][] = [];
  let current: SizedMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = entryBytes(message);
    const full =
      current.length >= limits.maxMessagesPerRequest ||
      currentBytes + bytes > limits.maxBytesPerRequest;
    if (current.length > 0 && full) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

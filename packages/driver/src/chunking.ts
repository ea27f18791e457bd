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

/** Splits messages, as they come and in order, into requests within both limits. */
export class ChunkBuilder {
  private readonly chunks: SizedMessage[][] = [];
  private current: SizedMessage[] = [];
  private currentBytes = 0;

  constructor(private readonly limits: ChunkLimits) {}

  add(message: SizedMessage): void {
    const bytes = entryBytes(message);
    const full =
      this.current.length >= this.limits.maxMessagesPerRequest ||
      this.currentBytes + bytes > this.limits.maxBytesPerRequest;
    if (this.current.length > 0 && full) {
      this.chunks.push(this.current);
      this.current = [];
      this.currentBytes = 0;
    }
    this.current.push(message);
    this.currentBytes += bytes;
  }

  /** The requests, the last one closed. */
  finish(): ReadonlyArray<ReadonlyArray<SizedMessage>> {
    if (this.current.length > 0) this.chunks.push(this.current);
    this.current = [];
    this.currentBytes = 0;
    return this.chunks;
  }
}

/** Splits messages, in order, into requests within both limits. */
export function chunkMessages(
  messages: ReadonlyArray<SizedMessage>,
  limits: ChunkLimits,
): ReadonlyArray<ReadonlyArray<SizedMessage>> {
  const builder = new ChunkBuilder(limits);
  for (const message of messages) builder.add(message);
  return builder.finish();
}

import type { DeviceMessage } from "./transport.js";

// Section 6: one large fan-out never becomes one oversized `/sendToDevice` request.

export interface ChunkLimits {
  /** Most device messages in one request. */
  readonly maxMessagesPerRequest: number;
  /** Most body bytes in one request (a message larger than this travels alone). */
  readonly maxBytesPerRequest: number;
}

/**
 * Defaults: as few requests as a reverse proxy in front of the homeserver lets through. Synapse
 * accepts far larger to-device requests, but nginx's default `client_max_body_size` is 1 MiB:
 * 1,000,000 counted bytes leave room for the body's wrapping. An Element Call key is ~1.7 KB per
 * Olm ciphertext, so a fan-out to 1,000 devices is two requests (sent side by side), not ten.
 * 1,000 messages bound a request of small cleartext contents (the homeserver stores one request
 * in one database transaction); each receiving device gets one message per request whatever
 * the count, so the count is no concern of the receivers' `/sync`.
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
  maxMessagesPerRequest: 1_000,
  maxBytesPerRequest: 1_000_000,
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
  private added = 0;
  private addedBytes = 0;

  constructor(private readonly limits: ChunkLimits) {}

  /**
   * About how many more messages, of the size of those added so far, close the open request;
   * `undefined` before the first message.
   */
  messagesToClose(): number | undefined {
    if (this.added === 0) return undefined;
    const average = this.addedBytes / this.added;
    const byCount = this.limits.maxMessagesPerRequest - this.current.length;
    const byBytes = Math.floor((this.limits.maxBytesPerRequest - this.currentBytes) / average);
    return Math.max(0, Math.min(byCount, byBytes)) + 1;
  }

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
    this.added++;
    this.addedBytes += bytes;
  }

  /** The requests closed so far, handed over once: later messages go to the open one. */
  takeClosed(): ReadonlyArray<ReadonlyArray<SizedMessage>> {
    return this.chunks.splice(0);
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

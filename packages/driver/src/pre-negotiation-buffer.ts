import type { JsonValue } from "@widget-todevice/codec";
import { jsonByteLength, utf8Length } from "./message-size.js";
import type { ReceivedToDeviceMessage } from "./transport.js";

// docs/protocol.md §7: messages that arrive before a widget's capabilities are negotiated wait
// in a buffer bounded in messages and bytes, and fair between senders: one sender can push out
// only its own messages, never another's.

export interface PreNegotiationOptions {
  /** How long a message waits for negotiation before it is dropped. */
  readonly maxAgeMs: number;
  /** How many messages wait per widget, from all senders together. */
  readonly maxMessages: number;
  /** How many bytes wait per widget (UTF-8 JSON of each message's type, sender and content). */
  readonly maxBytes: number;
  /** How many messages of one sender wait; more drop that sender's oldest. */
  readonly maxMessagesPerSender: number;
  /** How many bytes of one sender wait; more drop that sender's oldest. */
  readonly maxBytesPerSender: number;
}

/**
 * Defaults: a widget's capabilities are usually negotiated within a second of loading, but a
 * permission prompt waits for the user; 30 s covers a prompt answered promptly. 100 messages hold
 * a call's key exchange with dozens of participants (one or two keys each, a few hundred bytes),
 * 25 per sender leave room for four busy senders, and the byte bounds hold two of the largest
 * messages Synapse accepts (64 KiB) per sender and eight per widget.
 */
export const DEFAULT_PRE_NEGOTIATION: PreNegotiationOptions = {
  maxAgeMs: 30_000,
  maxMessages: 100,
  maxBytes: 524_288,
  maxMessagesPerSender: 25,
  maxBytesPerSender: 131_072,
};

interface Waiting {
  readonly received: ReceivedToDeviceMessage;
  readonly at: number;
  /** Arrival order across senders. */
  readonly seq: number;
  readonly bytes: number;
}

interface SenderQueue {
  readonly waiting: Waiting[];
  bytes: number;
}

/** What a message counts against the byte bounds. */
function sizeOf({ message }: ReceivedToDeviceMessage): number {
  return (
    utf8Length(message.type) +
    utf8Length(message.sender) +
    // Parsed from a `/sync` body, so JSON; measured without serialising it again.
    jsonByteLength(message.content as JsonValue)
  );
}

/** A drop, for the router to count and log. */
export interface BufferDrop {
  readonly count: number;
  readonly why: string;
}

export class PreNegotiationBuffer {
  private readonly senders = new Map<string, SenderQueue>();
  private messages = 0;
  private totalBytes = 0;
  private seq = 0;

  constructor(private readonly options: PreNegotiationOptions) {}

  get size(): number {
    return this.messages;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** When the oldest waiting message arrived; `undefined` when empty. */
  get oldestAt(): number | undefined {
    let oldest: number | undefined;
    for (const { waiting } of this.senders.values()) {
      const at = waiting[0]?.at;
      if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
    }
    return oldest;
  }

  /**
   * Adds a message, first making room: the sender's own oldest messages when it is over its
   * quota, then, when the widget's bound is reached, the oldest of whichever sender holds the
   * most (the arriving sender when it ties). Returns what was dropped.
   */
  hold(received: ReceivedToDeviceMessage, now: number): BufferDrop[] {
    const { options } = this;
    const sender = received.message.sender;
    const bytes = sizeOf(received);
    if (bytes > Math.min(options.maxBytesPerSender, options.maxBytes)) {
      return [{ count: 1, why: `a message of ${bytes} bytes from ${sender} is over the bound` }];
    }
    const drops: BufferDrop[] = [];
    let ownDropped = 0;
    for (;;) {
      const own = this.senders.get(sender);
      if (own === undefined) break;
      if (own.waiting.length < options.maxMessagesPerSender) {
        if (own.bytes + bytes <= options.maxBytesPerSender) break;
      }
      this.dropOldestOf(sender);
      ownDropped++;
    }
    if (ownDropped > 0)
      drops.push({ count: ownDropped, why: `${sender} sent more than its share of the buffer` });

    for (;;) {
      const overCount = this.messages >= options.maxMessages;
      const overBytes = this.totalBytes + bytes > options.maxBytes;
      if (!overCount && !overBytes) break;
      const largest = this.largestHolder(sender, bytes, overCount ? "messages" : "bytes");
      if (largest === sender && !this.senders.has(sender)) {
        // Every sender holds at least what this message would give its own: it arrived last.
        drops.push({ count: 1, why: "the buffer is full of other senders' messages" });
        return drops;
      }
      this.dropOldestOf(largest);
      drops.push({ count: 1, why: `${largest} holds the most of the buffer` });
    }
    let queue = this.senders.get(sender);
    if (queue === undefined) {
      queue = { waiting: [], bytes: 0 };
      this.senders.set(sender, queue);
    }
    queue.waiting.push({ received, at: now, seq: this.seq++, bytes });
    queue.bytes += bytes;
    this.messages++;
    this.totalBytes += bytes;
    return drops;
  }

  /** Drops what arrived at or before `cutoff`; returns how many. */
  expire(cutoff: number): number {
    let dropped = 0;
    for (const [sender, queue] of this.senders) {
      while ((queue.waiting[0]?.at ?? Number.POSITIVE_INFINITY) <= cutoff) {
        this.dropOldestOf(sender);
        dropped++;
      }
    }
    return dropped;
  }

  /** Empties the buffer; returns what waited, in arrival order. */
  take(): ReceivedToDeviceMessage[] {
    const all = [...this.senders.values()].flatMap((queue) => queue.waiting);
    this.senders.clear();
    this.messages = 0;
    this.totalBytes = 0;
    return all.sort((a, b) => a.seq - b.seq).map((entry) => entry.received);
  }

  /** The sender holding the most messages or bytes, counting the arriving message as its own. */
  private largestHolder(arriving: string, arrivingBytes: number, by: "messages" | "bytes"): string {
    const held = (queue: SenderQueue | undefined, extraBytes: number, extra: number): number =>
      by === "messages" ? (queue?.waiting.length ?? 0) + extra : (queue?.bytes ?? 0) + extraBytes;
    // Ties go to the arriving sender: a newcomer never pushes out an equal.
    let largest = arriving;
    let most = held(this.senders.get(arriving), arrivingBytes, 1);
    for (const [sender, queue] of this.senders) {
      if (sender === arriving) continue;
      const theirs = held(queue, 0, 0);
      if (theirs > most) {
        largest = sender;
        most = theirs;
      }
    }
    return largest;
  }

  private dropOldestOf(sender: string): void {
    const queue = this.senders.get(sender);
    const oldest = queue?.waiting.shift();
    if (queue === undefined || oldest === undefined) return;
    queue.bytes -= oldest.bytes;
    this.messages--;
    this.totalBytes -= oldest.bytes;
    if (queue.waiting.length === 0) this.senders.delete(sender);
  }
}

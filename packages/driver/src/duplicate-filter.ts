import { sha256Key } from "./msgid-key.js";

// docs/protocol.md §7: "the same message was already delivered (`org.matrix.msgid`) -> drop".
// One widget's memory of the msgids it was given, bounded in bytes.

/**
 * What one remembered msgid costs, in bytes: a 16-character key (the 32-byte digest) and its
 * `Set` slot. Measured on V8 (Node 20): about 75 bytes; rounded up for the set's spare capacity.
 */
export const DUPLICATE_ENTRY_BYTES = 96;

/**
 * The longest msgid that is remembered. A real one is a short random string; hashing a longer
 * one on every arrival would let one sender make the host hash megabytes per sync. Copies of a
 * message with a longer msgid are all delivered: only its own sender can lose by that.
 */
export const MAX_MSGID_LENGTH = 255;

export class DuplicateFilter {
  // Insertion order is arrival order: the first key is the oldest.
  private readonly seen = new Set<string>();

  constructor(private readonly maxBytes: number) {}

  /**
   * The key of a message that carries a msgid: a digest of sender, type and msgid, so a msgid of
   * any length costs `DUPLICATE_ENTRY_BYTES`, and no sender can make another sender's message
   * look like a duplicate. The JSON array frames the three parts unambiguously.
   */
  static keyOf(sender: string, type: string, msgid: string): string {
    return sha256Key(JSON.stringify([sender, type, msgid]));
  }

  /** Whether `key` (from `keyOf`) was seen before; remembers it if not. */
  isDuplicate(key: string): boolean {
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    // The oldest are forgotten first: a copy arriving after that many newer msgids is delivered.
    while (this.bytes > this.maxBytes) {
      const oldest = this.seen.values().next();
      if (oldest.done === true) break;
      this.seen.delete(oldest.value);
    }
    return false;
  }

  forget(): void {
    this.seen.clear();
  }

  get entries(): number {
    return this.seen.size;
  }

  get bytes(): number {
    return this.seen.size * DUPLICATE_ENTRY_BYTES;
  }
}

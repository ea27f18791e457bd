import { sha256Key } from "./sha256.js";

// docs/protocol.md §7: "the same message was already delivered (`org.matrix.msgid`) -> drop".
// One widget's memory of the msgids it was given, bounded in bytes.

/**
 * What one remembered msgid costs, in bytes: a 32-byte SHA-256 key and its `Map` entry. Measured
 * on V8 (Node 20): 85 bytes per entry with the map's spare capacity; rounded up.
 */
export const DUPLICATE_ENTRY_BYTES = 96;

export class DuplicateFilter {
  // Insertion order is arrival order: the first key is the oldest.
  private readonly seen = new Set<string>();

  constructor(private readonly maxBytes: number) {}

  /**
   * Whether `msgid` was seen before from this sender with this type; remembers it if not.
   * The key is a digest of all three, so a msgid of any length costs `DUPLICATE_ENTRY_BYTES`,
   * and no sender can make another sender's message look like a duplicate.
   */
  isDuplicate(sender: string, type: string, msgid: string): boolean {
    const key = sha256Key(JSON.stringify([sender, type, msgid]));
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

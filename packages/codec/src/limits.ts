// Section 8: limits are checked before any work is done.

/** Bounds on what a decoder accepts. Every decode function takes a partial override. */
export interface Limits {
  /**
   * Largest request, as the length of its JSON serialization with every escape sequence counted
   * as the one character it stands for: each key and string by its UTF-16 length plus two
   * quotes, each number as JSON writes it, `true` 4, `false` 5, `null` 4, and every brace,
   * bracket, comma and colon. So it never exceeds `JSON.stringify(data).length` and equals it
   * when no string needs escaping. postMessage carries objects, not bytes, so this is counted
   * while walking the value, which stops as soon as the limit is passed. For a `toWidget`
   * message it bounds the `content`.
   */
  readonly maxRequestBytes: number;
  /** Most recipient entries in one request: a user's `*` counts as one. */
  readonly maxRecipients: number;
  /** Deepest nesting of arrays and objects inside one `content` (the content itself is 1). */
  readonly maxDepth: number;
  /** Most issues reported for one input; the rest are summarised in one last issue. */
  readonly maxIssues: number;
}

/**
 * Defaults: 1 MiB holds a legacy request to 3,000 devices of an Element Call key (270 bytes)
 * and a recipients request to far more; 10,000 recipients is a large call's fan-out many times
 * over; 32 levels is deeper than any Matrix event content in use.
 */
export const DEFAULT_LIMITS: Limits = {
  maxRequestBytes: 1_048_576,
  maxRecipients: 10_000,
  maxDepth: 32,
  maxIssues: 20,
};

export function withDefaults(limits: Partial<Limits> | undefined): Limits {
  return limits === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...limits };
}

// Every wait on the host has an end. Timers take a signed 32-bit delay: anything longer (or
// `Infinity`) wraps and fires at once, so longer waits are clamped to the longest a timer holds.

/** The longest delay a timer holds, about 24.8 days; longer timeouts are clamped to it. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The timer delay for a timeout option: `ms` clamped to `MAX_TIMEOUT_MS`, or a description of
 * why `ms` is not a timeout (not a number, NaN, zero or negative).
 */
export function timerDelay(ms: unknown): number | string {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms <= 0) {
    return `must be a positive number of milliseconds, not ${String(ms)}`;
  }
  return Math.min(ms, MAX_TIMEOUT_MS);
}

/**
 * One wait with an end: `race(work)` settles with `work`, or rejects with `expired()` when the
 * delay is over, or with what `stop(error)` was given. A send uses one across its phases, so its
 * timeout covers the wait for `ready` too.
 */
export class Deadline {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly ended: Promise<never>;
  private end!: (error: unknown) => void;

  constructor(delayMs: number, expired: () => Error) {
    this.ended = new Promise<never>((_, reject) => {
      this.end = reject;
    });
    // Handled here: a deadline nobody is racing against must not be an unhandled rejection.
    this.ended.catch(() => {});
    this.timer = setTimeout(() => this.end(expired()), delayMs);
  }

  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.ended]);
  }

  /** Ends the wait now with `error` (for example when the widget closes). */
  stop(error: unknown): void {
    this.cancel();
    this.end(error);
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

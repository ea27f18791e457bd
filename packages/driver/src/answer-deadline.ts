// Section 6: every send is answered within the widget's own deadline. When it passes, the send
// stops: no `/sendToDevice` request and no retry starts for it afterwards.

/** How long the driver may take to answer a send, by what the widget speaks. */
export interface AnswerDeadlineOptions {
  /**
   * A widget that advertised only the legacy format, or whose formats are not known yet: a stock
   * matrix-widget-api widget gives up after 10 s. Default 8 s, leaving room for `postMessage`
   * and a busy page.
   */
  readonly stock: number;
  /** A widget that speaks a newer format: the widget package waits 60 s. Default 55 s. */
  readonly negotiated: number;
}

/** 8 s for stock widgets, 55 s for widgets that speak a newer format (section 6). */
export const DEFAULT_ANSWER_DEADLINE: AnswerDeadlineOptions = {
  stock: 8_000,
  negotiated: 55_000,
};

/** The longest delay a timer takes (2^31 - 1 ms); a longer deadline never passes. */
const MAX_TIMER_MS = 2_147_483_647;

/** What `race` returns when the deadline passed first. */
export const PASSED: unique symbol = Symbol("deadline passed");

/**
 * One send's answer deadline, started when the driver received the request. `expired` fires at
 * the deadline; `stop` also fires when the widget is detached (the retry waits listen to it).
 */
export class AnswerDeadline {
  /** Aborted when the deadline passes. */
  readonly expired: AbortSignal;
  /** Aborted when the deadline passes or the widget is detached. */
  readonly stop: AbortSignal;
  /** The `Date.now()` at which the send must be answered. */
  readonly at: number;
  private readonly expiry = new AbortController();
  private readonly stopping = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onDetach = () => this.stopping.abort();

  constructor(
    readonly ms: number,
    private readonly detached?: AbortSignal,
  ) {
    this.expired = this.expiry.signal;
    this.stop = this.stopping.signal;
    this.at = Date.now() + ms;
    // A timer longer than its maximum would fire at once, so such a deadline has none.
    this.timer =
      ms <= MAX_TIMER_MS
        ? setTimeout(() => {
            this.expiry.abort();
            this.stopping.abort();
          }, ms)
        : undefined;
    if (detached?.aborted) this.stopping.abort();
    else detached?.addEventListener("abort", this.onDetach, { once: true });
  }

  get passed(): boolean {
    return this.expired.aborted;
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** `promise`'s value, or `PASSED` as soon as the deadline passes first. */
  race<T>(promise: Promise<T>): Promise<T | typeof PASSED> {
    if (this.passed) return Promise.resolve(PASSED);
    return new Promise((resolve, reject) => {
      const onPassed = () => resolve(PASSED);
      this.expired.addEventListener("abort", onPassed, { once: true });
      promise.then(
        (value) => {
          this.expired.removeEventListener("abort", onPassed);
          resolve(value);
        },
        (error: unknown) => {
          this.expired.removeEventListener("abort", onPassed);
          reject(error);
        },
      );
    });
  }

  /** Stops the timer once the send is answered. */
  dispose(): void {
    clearTimeout(this.timer);
    this.detached?.removeEventListener("abort", this.onDetach);
  }
}

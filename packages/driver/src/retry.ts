import { SendToDeviceError } from "./transport.js";

// Section 6: 429 waits `retry_after_ms`; 5xx and network errors back off; all bounded. The
// caller keeps the transaction ID across attempts, so a retry can never deliver twice.

export interface RetryOptions {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** The first back-off after a 5xx or network error; doubles per attempt, with jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** A 429 asking to wait longer than this is reported at once instead of waited out. */
  readonly maxRetryAfterMs: number;
  /** No retry starts after this long since the first attempt; clamped to the answer deadline. */
  readonly deadlineMs: number;
}

/**
 * Defaults: five attempts over at most 30 s, and never past the send's answer deadline (the
 * sender clamps `deadlineMs` to it, section 6). Synapse's `retry_after_ms` for to-device rate
 * limits is typically well under a second.
 */
export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxAttempts: 5,
  initialBackoffMs: 250,
  maxBackoffMs: 8_000,
  maxRetryAfterMs: 20_000,
  deadlineMs: 30_000,
};

export type RetryOutcome =
  /** The homeserver accepted the request. */
  | { readonly kind: "accepted"; readonly attempts: number }
  /** Retries ran out (attempts, deadline, a final error) or were stopped. */
  | { readonly kind: "gave_up"; readonly attempts: number; readonly error: SendToDeviceError };

export function isRetryable(error: SendToDeviceError): boolean {
  const status = error.httpStatus;
  return status === undefined || status === 429 || status >= 500;
}

function asSendError(error: unknown): SendToDeviceError {
  if (error instanceof SendToDeviceError) return error;
  // An error the transport did not classify: treat it like a failed connection.
  return new SendToDeviceError(error instanceof Error ? error.message : String(error));
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How long to wait before attempt `attempt + 1`, or `undefined` to give up. */
function delayBefore(
  error: SendToDeviceError,
  attempt: number,
  options: RetryOptions,
  random: () => number,
): number | undefined {
  if (!isRetryable(error) || attempt >= options.maxAttempts) return undefined;
  if (error.httpStatus === 429 && error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= options.maxRetryAfterMs
      ? Math.max(0, error.retryAfterMs)
      : undefined;
  }
  const backoff = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** (attempt - 1));
  // +-20 % jitter, so that many clients failing together do not retry together.
  return Math.round(backoff * (0.8 + 0.4 * random()));
}

/** Runs `attempt` until it succeeds or the retry budget is spent. Never throws. */
export async function sendWithRetry(
  attempt: () => Promise<void>,
  options: RetryOptions,
  signal?: AbortSignal,
  random: () => number = Math.random,
): Promise<RetryOutcome> {
  const started = Date.now();
  for (let attempts = 1; ; attempts++) {
    let error: SendToDeviceError;
    try {
      await attempt();
      return { kind: "accepted", attempts };
    } catch (thrown) {
      error = asSendError(thrown);
    }
    const delay = delayBefore(error, attempts, options, random);
    if (delay === undefined || Date.now() + delay - started > options.deadlineMs) {
      return { kind: "gave_up", attempts, error };
    }
    if (!(await wait(delay, signal))) return { kind: "gave_up", attempts, error };
  }
}

// One bound for work the driver waits on but does not own: a device-list lookup, a key query.

/** What `withinTime` resolves with when the time ran out first. */
export const TIMED_OUT = "timeout";

/**
 * Resolves with the promise's value, or with `TIMED_OUT` after `ms`, whichever comes first;
 * rejects if the promise rejects first. The work itself goes on: nothing here can stop it.
 */
export function withinTime<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

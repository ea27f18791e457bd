// Section 6: a send's `/sendToDevice` requests, at most `maxConcurrent` in flight. A request
// starts as soon as its chunk is ready, so a large send uploads its first devices while later
// ones are still being encrypted.

export class Uploads<T> {
  private readonly queue: T[] = [];
  private running = 0;
  private waiters: Array<() => void> = [];
  private error: { readonly cause: unknown } | undefined;
  /** Requests started so far. */
  started = 0;

  constructor(
    private readonly maxConcurrent: number,
    private readonly upload: (item: T) => Promise<void>,
  ) {}

  /** Starts `item`'s upload now, or when one of the running ones is done. */
  add(item: T): void {
    this.queue.push(item);
    this.pump();
  }

  /** Resolves when every added upload is done; rejects with the first that threw. */
  async drained(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.error !== undefined) throw this.error.cause;
  }

  private pump(): void {
    while (this.running < this.maxConcurrent && this.queue.length > 0) {
      const item = this.queue.shift() as T;
      this.running++;
      this.started++;
      this.upload(item)
        .catch((cause: unknown) => {
          this.error ??= { cause };
        })
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.queue.length === 0) {
            const waiters = this.waiters;
            this.waiters = [];
            for (const wake of waiters) wake();
          }
        });
    }
  }
}

// Section 6: messages from one widget to one device leave in the order the widget sent them.

/** A place in line, taken synchronously when a send is accepted. */
export interface Turn {
  /** Resolves when every earlier send to any of the same users has finished. */
  readonly ready: Promise<void>;
  /** Lets later sends go; call exactly once, when this send is answered. */
  release(): void;
}

/**
 * Per-user lanes: a send waits only for earlier sends that share a recipient user, so sends to
 * disjoint users run side by side. A user rather than a device is the unit because a `*` send
 * covers devices nobody has listed yet. Memory is bounded by the sends in flight.
 */
export class RecipientOrder {
  private readonly tails = new Map<string, Promise<void>>();

  take(userIds: Iterable<string>): Turn {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const earlier: Promise<void>[] = [];
    const users = [...new Set(userIds)];
    for (const userId of users) {
      const tail = this.tails.get(userId);
      if (tail !== undefined) earlier.push(tail);
      this.tails.set(userId, done);
    }
    let released = false;
    return {
      ready: Promise.all(earlier).then(() => undefined),
      release: () => {
        if (released) return;
        released = true;
        release();
        for (const userId of users) {
          if (this.tails.get(userId) === done) this.tails.delete(userId);
        }
      },
    };
  }

  /** Users with a send in flight (for tests and diagnostics). */
  get busyUsers(): number {
    return this.tails.size;
  }
}

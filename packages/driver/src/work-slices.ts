// Section 6: a send over thousands of devices never holds the host's event loop for long. Its
// loops (resolving, sizing, chunking) count their work and give the host a turn between slices.

/** Most units of work (one device, or one KiB of JSON sized) between two turns. */
const UNITS_PER_SLICE = 2_048;
/** Most milliseconds between two turns, whatever the units. */
const MS_PER_SLICE = 4;
/** The clock is read once per this many units: it costs more than counting. */
const UNITS_PER_CLOCK_READ = 64;

// Captured when the module loads, so that fake timers installed later (in a host's tests)
// cannot stall a send that is giving way.
const setImmediateAtLoad = (globalThis as { setImmediate?: (run: () => void) => unknown })
  .setImmediate;
const MessageChannelAtLoad = globalThis.MessageChannel;
const setTimeoutAtLoad = globalThis.setTimeout;

/** Resolves in a later macrotask, after the host's pending events had their turn. */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => {
    if (setImmediateAtLoad !== undefined) setImmediateAtLoad(resolve);
    else if (MessageChannelAtLoad !== undefined) {
      // Browsers: a message task, without the 4 ms clamp of nested `setTimeout`s.
      const channel = new MessageChannelAtLoad();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(undefined);
    } else setTimeoutAtLoad(resolve, 0);
  });
}

/**
 * The budget of one slice of a send's synchronous work. Loops call
 * `if (slices.spent(n)) await slices.pause();` per item: the check is cheap, the pause rare.
 */
export class WorkSlices {
  private units = 0;
  private unclocked = 0;
  private started = performance.now();

  /** Counts `units` of work; `true` when the slice is used up and the loop should pause. */
  spent(units: number): boolean {
    this.units += units;
    this.unclocked += units;
    if (this.units >= UNITS_PER_SLICE) return true;
    if (this.unclocked < UNITS_PER_CLOCK_READ) return false;
    this.unclocked = 0;
    return performance.now() - this.started >= MS_PER_SLICE;
  }

  /** Gives the host's event loop a turn, then starts a new slice. */
  async pause(): Promise<void> {
    await nextMacrotask();
    this.restart();
  }

  /**
   * Starts a new slice after the send waited on something else (a key query, encryption, a
   * request): the event loop had its turns meanwhile, and the time waited is not the send's
   * work. Without it a small send would give way right after a wait, for nothing.
   */
  restart(): void {
    this.units = 0;
    this.unclocked = 0;
    this.started = performance.now();
  }
}

import type { WidgetApi } from "matrix-widget-api";
import { Deadline } from "./deadline.js";
import { ToDeviceNegotiationError } from "./errors.js";
import type { HostMisbehaviour } from "./host-guard.js";
import type { ToDeviceNegotiation } from "./negotiation.js";

/**
 * The wait for the negotiation (section 2): `ready` resolves once the widget API is ready and
 * `negotiate` has read the outcome; it rejects when the host takes longer than `delayMs`, sends
 * a malformed negotiation message, or `close()` comes first. Never an unhandled rejection.
 */
export class Readiness {
  readonly ready: Promise<ToDeviceNegotiation>;
  private readonly deadline: Deadline;
  private current: ToDeviceNegotiation | undefined;
  private settle:
    | {
        resolve: (negotiation: ToDeviceNegotiation) => void;
        reject: (error: ToDeviceNegotiationError) => void;
      }
    | undefined;

  constructor(
    private readonly api: WidgetApi,
    delayMs: number,
    private readonly negotiate: () => Promise<ToDeviceNegotiation>,
  ) {
    this.deadline = new Deadline(
      delayMs,
      () =>
        new ToDeviceNegotiationError(
          `the host did not finish negotiating within ${delayMs} ms: it never asked for capabilities or never notified what it approved (or the widget API had negotiated before this widget wrapped it: wrap it before api.start())`,
          "timeout",
        ),
    );
    this.ready = this.deadline.race(
      new Promise<ToDeviceNegotiation>((resolve, reject) => {
        api.once("ready", this.onApiReady);
        this.settle = { resolve, reject };
      }),
    );
    // The negotiation counts only once `ready` resolved: not after its deadline or a misbehaviour.
    this.ready.then(
      (negotiation) => {
        this.deadline.cancel();
        this.current = negotiation;
      },
      () => this.deadline.cancel(),
    );
  }

  /** The negotiation's outcome, or `undefined` before `ready` resolved. */
  get negotiation(): ToDeviceNegotiation | undefined {
    return this.current;
  }

  private readonly onApiReady = (): void => {
    this.negotiate().then(
      (negotiation) => this.settle?.resolve(negotiation),
      (error: unknown) => this.settle?.reject(error as ToDeviceNegotiationError),
    );
  };

  /** The host guard stopped a malformed negotiation message: `ready` rejects, or it is logged. */
  readonly misbehaved = ({ problem, message }: HostMisbehaviour): void => {
    const error = new ToDeviceNegotiationError(
      `the host sent a malformed negotiation message, ${problem}`,
      "invalid_host_message",
      message,
    );
    if (this.current === undefined) this.deadline.stop(error);
    else console.warn(`[to-device] ${error.message}`, error);
  };

  close(): void {
    this.api.off("ready", this.onApiReady);
    this.deadline.stop(
      new ToDeviceNegotiationError(
        "the widget was closed before the negotiation finished",
        "closed",
      ),
    );
  }
}

// A host that says whatever a test tells it to: the widget side is a real matrix-widget-api
// `WidgetApi` (inside `ToDeviceWidget`); the host side is this object, which reads what the
// widget posts and posts arbitrary requests and answers back. Delivery is synchronous and
// deterministic: the widget's `postMessage` to its parent is captured (as a structured clone,
// as a browser would deliver it), and the host's messages are dispatched on the window as
// `message` events, which is what the widget API listens to. Time is the test's (fake timers).
import { CurrentApiVersions, WidgetApi, WidgetApiDirection } from "matrix-widget-api";
import { ORIGIN, WIDGET_ID } from "./harness.js";

/** A message the widget posted: a request to the host, or an answer to one of the host's. */
export type Posted = Record<string, unknown> & {
  readonly api: string;
  readonly requestId: string;
  readonly action: string;
  readonly data?: unknown;
  readonly response?: unknown;
};

export class FakeHost {
  /** Everything the widget posted, oldest first. */
  readonly posted: Posted[] = [];
  // By message, not request ID: the widget API reuses an ID once its request is settled.
  private readonly answered = new Set<Posted>();
  private next = 0;
  private readonly restorePost: () => void;

  constructor() {
    const original = window.postMessage;
    window.postMessage = ((message: unknown) => {
      this.posted.push(structuredClone(message) as Posted);
    }) as typeof window.postMessage;
    this.restorePost = () => {
      window.postMessage = original;
    };
  }

  /** A widget API for this host, not started. */
  widgetApi(): WidgetApi {
    return new WidgetApi(WIDGET_ID, ORIGIN);
  }

  /** The widget's requests with this action that the host has not answered, oldest first. */
  pending(action: string): Posted[] {
    return this.posted.filter(
      (m) =>
        m.api === WidgetApiDirection.FromWidget &&
        m.response === undefined &&
        m.action === action &&
        !this.answered.has(m),
    );
  }

  /** The widget's answer to the host's request `requestId`, if it gave one. */
  answerTo(requestId: string): Posted | undefined {
    return this.posted.find(
      (m) => m.api === WidgetApiDirection.ToWidget && m.requestId === requestId,
    );
  }

  /** Posts anything to the widget, as the host's window would. */
  post(data: unknown): void {
    window.dispatchEvent(
      new MessageEvent("message", { data: structuredClone(data), origin: ORIGIN }),
    );
  }

  /** Asks the widget `action` with `data`; returns the request ID. */
  request(action: string, data: unknown): string {
    const requestId = `host-${this.next++}`;
    this.post({ api: WidgetApiDirection.ToWidget, widgetId: WIDGET_ID, requestId, action, data });
    return requestId;
  }

  /** Answers the widget's request with `response` (anything), optionally naming another action. */
  answer(request: Posted, response: unknown, action: string = request.action): void {
    this.answered.add(request);
    this.post({ ...request, action, response });
  }

  /**
   * The usual negotiation: the host asks for capabilities, answers every versions request with
   * `versions`, and notifies `approved` (default: what the widget asked for). Call `settle`
   * between steps.
   */
  async negotiate(
    settle: () => Promise<void>,
    versions: ReadonlyArray<string> = CurrentApiVersions,
    approve: (requested: string[]) => string[] = (requested) => requested,
  ): Promise<void> {
    const asked = this.request("capabilities", {});
    await settle();
    for (const request of this.pending("supported_api_versions")) {
      this.answer(request, { supported_versions: [...versions] });
    }
    await settle();
    const requested = (this.answerTo(asked)?.response as { capabilities?: string[] } | undefined)
      ?.capabilities;
    if (requested === undefined)
      throw new Error("the widget did not answer the capabilities request");
    this.request("notify_capabilities", { requested, approved: approve(requested) });
    await settle();
  }

  /** The capabilities the widget asked for in its answer to the host's request `asked`. */
  requestedCapabilities(asked: string): string[] {
    const response = this.answerTo(asked)?.response as { capabilities?: string[] } | undefined;
    if (response?.capabilities === undefined) {
      throw new Error("the widget did not answer the capabilities request");
    }
    return response.capabilities;
  }

  restore(): void {
    this.restorePost();
  }
}

/** Lets every promise chain run to its end: microtasks all drain before the next macrotask. */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** The state of a promise, without waiting for it. */
export function watch<T>(promise: Promise<T>): () => "pending" | "resolved" | "rejected" {
  let state: "pending" | "resolved" | "rejected" = "pending";
  promise.then(
    () => {
      state = "resolved";
    },
    () => {
      state = "rejected";
    },
  );
  return () => state;
}

/**
 * A widget in a frame, for tests: a real matrix-widget-api `WidgetApi` (the widget) and a real
 * `ClientWidgetApi` (the host), exchanging real `postMessage`s on the page globals of
 * `@widget-todevice/matrix-clients/node-window`. The driver's unit tests hold the same harness
 * (packages/driver/test/harness/widget-frame.ts, under happy-dom); this copy drives the
 * published driver by name.
 *
 * Wiring. matrix-widget-api 1.19's PostmessageTransport listens on `globalThis` on both sides
 * and posts to the other side's window: the host to `iframe.contentWindow`, the widget to
 * `globalThis.parent`. It never checks `event.source`; it checks the origin only with
 * `strictOriginCheck`, and otherwise tells traffic apart by `api` direction, `widgetId` and
 * `requestId`. So each side gets a window stand-in whose `postMessage` checks the target
 * origin like a browser, structured-clones the message, and dispatches a `MessageEvent` (with
 * the sender's origin and window as `source`) on the shared global window in a later task.
 * Several frames can share one page because every frame has its own widget ID.
 */
import { FORMAT_IDENTIFIERS } from "@widget-todevice/codec";
import { validateToDeviceCapabilities } from "@widget-todevice/driver";
import {
  ClientWidgetApi,
  CurrentApiVersions,
  type IWidgetApiRequest,
  type IWidgetApiResponseData,
  Widget,
  WidgetApi,
  WidgetApiFromWidgetAction,
  WidgetApiResponseError,
  WidgetDriver,
} from "matrix-widget-api";

export const HOST_ORIGIN = "https://host.example";
export const WIDGET_ORIGIN = "https://widget.example";

/** A window stand-in whose `postMessage` lands on the shared global window. */
export class FrameWindow {
  constructor(
    /** The origin of the window this stands in for (what a sender must target). */
    readonly origin: string,
    /** The origin messages posted *to* this window come from. */
    private readonly senderOrigin: string,
    private readonly source: () => FrameWindow,
  ) {}

  postMessage(message: unknown, targetOrigin: string | null): void {
    if (targetOrigin !== "*" && targetOrigin !== null && targetOrigin !== this.origin) {
      throw new Error(`postMessage: target origin ${targetOrigin} does not match ${this.origin}`);
    }
    const data: unknown = structuredClone(message);
    setTimeoutZero(() => {
      globalThis.dispatchEvent(
        new MessageEvent("message", {
          data,
          origin: this.senderOrigin,
          source: this.source() as unknown as Window,
        }),
      );
    });
  }
}

// A later task, like a real postMessage; microtasks keep it working under fake timers.
function setTimeoutZero(run: () => void): void {
  queueMicrotask(run);
}

/** The host's `WidgetDriver`: approvals through the driver package's capability helper. */
export class TestWidgetDriver extends WidgetDriver {
  constructor(private readonly grant: (requested: Set<string>) => Promise<Set<string>>) {
    super();
  }

  override validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    return this.grant(requested);
  }
}

export interface WidgetFrameOptions {
  readonly widgetId?: string;
  /** The widget's type (`Widget.type`): the default `scope.id`. */
  readonly type?: string;
  /** What the widget requests. */
  readonly capabilities?: ReadonlyArray<string>;
  /** Host approvals; default: every grantable to-device capability, through the helper. */
  readonly grant?: (requested: Set<string>) => Promise<Set<string>>;
  /**
   * The format identifiers the widget advertises besides the stock versions: `true` for all of
   * them (a newer widget), nothing for a stock matrix-widget-api widget.
   */
  readonly advertisesFormats?: boolean | ReadonlyArray<string>;
}

/** What a widget's request came back with: the response data, or the error reply. */
export type Reply =
  | { readonly ok: true; readonly response: IWidgetApiResponseData }
  | {
      readonly ok: false;
      readonly message: string;
      readonly data: Readonly<Record<string, unknown>>;
    };

export class WidgetFrame {
  readonly widgetApi: WidgetApi;
  readonly clientApi: ClientWidgetApi;
  /** The `data` of every `toWidget` `send_to_device` the widget received. */
  readonly received: Record<string, unknown>[] = [];
  private readonly loadListeners: Array<() => void> = [];

  constructor(options: WidgetFrameOptions = {}) {
    const widgetId = options.widgetId ?? "w1";
    let hostWindow: FrameWindow;
    const widgetWindow: FrameWindow = new FrameWindow(WIDGET_ORIGIN, HOST_ORIGIN, () => hostWindow);
    hostWindow = new FrameWindow(HOST_ORIGIN, WIDGET_ORIGIN, () => widgetWindow);

    // The widget: `WidgetApi` posts to `globalThis.parent`, so the frame's parent is the host.
    const parent = Object.getOwnPropertyDescriptor(globalThis, "parent");
    Object.defineProperty(globalThis, "parent", { value: hostWindow, configurable: true });
    try {
      this.widgetApi = new WidgetApi(widgetId, HOST_ORIGIN);
    } finally {
      if (parent === undefined) Reflect.deleteProperty(globalThis, "parent");
      else Object.defineProperty(globalThis, "parent", parent);
    }
    for (const capability of options.capabilities ?? [])
      this.widgetApi.requestCapability(capability);
    const advertised =
      options.advertisesFormats === true ? FORMAT_IDENTIFIERS : options.advertisesFormats;
    if (advertised !== undefined && advertised !== false) {
      this.widgetApi.on(
        `action:${WidgetApiFromWidgetAction.SupportedApiVersions}`,
        (event: CustomEvent<IWidgetApiRequest>) => {
          event.preventDefault();
          this.widgetApi.transport.reply(event.detail, {
            supported_versions: [...CurrentApiVersions, ...advertised],
          });
        },
      );
    }
    this.widgetApi.on("action:send_to_device", (event: CustomEvent<IWidgetApiRequest>) => {
      event.preventDefault();
      this.received.push(event.detail.data as Record<string, unknown>);
      this.widgetApi.transport.reply(event.detail, {});
    });

    // The host: an iframe whose contentWindow is the widget's window.
    const iframe = {
      contentWindow: widgetWindow,
      addEventListener: (type: string, listener: () => void) => {
        if (type === "load") this.loadListeners.push(listener);
      },
    } as unknown as HTMLIFrameElement;
    const widget = new Widget({
      id: widgetId,
      creatorUserId: "@alice:example.org",
      type: options.type ?? "org.example.app",
      url: `${WIDGET_ORIGIN}/index.html`,
    });
    const grant =
      options.grant ?? ((requested) => validateToDeviceCapabilities(requested, () => true));
    this.clientApi = new ClientWidgetApi(widget, iframe, new TestWidgetDriver(grant));
  }

  /** The widget page loads: its API starts, then the iframe's `load` starts negotiation. */
  load(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.clientApi.once("ready", () => resolve()));
    this.widgetApi.start();
    for (const listener of this.loadListeners) listener();
    return ready;
  }

  /** Sends `data` as a `fromWidget` `send_to_device` request, exactly as given. */
  async send(data: unknown): Promise<Reply> {
    try {
      const response = await this.widgetApi.transport.send(
        WidgetApiFromWidgetAction.SendToDevice,
        data as never,
      );
      return { ok: true, response };
    } catch (error) {
      if (error instanceof WidgetApiResponseError) {
        return { ok: false, message: error.message, data: error.data as Record<string, unknown> };
      }
      throw error;
    }
  }

  stop(): void {
    this.clientApi.stop();
    this.widgetApi.transport.stop();
  }
}

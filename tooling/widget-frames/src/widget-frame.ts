/**
 * A widget in a frame, for tests: a real matrix-widget-api `WidgetApi` (the widget) and a real
 * `ClientWidgetApi` (the host), exchanging real `postMessage`s through two `FrameWindow`s.
 */
import { FORMAT_IDENTIFIERS } from "@widget-todevice/codec";
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
import { FrameWindow, HOST_ORIGIN, WIDGET_ORIGIN } from "./frame-window.js";

/** What the host approves of the capabilities a widget requested. */
export type Grant = (requested: Set<string>) => Promise<Set<string>>;

/** The host's `WidgetDriver`: approvals through `grant`, nothing else. */
export class TestWidgetDriver extends WidgetDriver {
  constructor(private readonly grant: Grant) {
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
  readonly creatorUserId?: string;
  /** What the widget requests (not with `widgetStartsItself`: that widget requests its own). */
  readonly capabilities?: ReadonlyArray<string>;
  /** Host approvals, through a `TestWidgetDriver`. Give this or `driver`. */
  readonly grant?: Grant;
  /** The host's whole `WidgetDriver` (approvals and room data). Give this or `grant`. */
  readonly driver?: WidgetDriver;
  /**
   * The format identifiers the widget advertises besides the stock versions: `true` for every
   * one the codec knows (a newer widget), a list for those; nothing for a stock widget.
   */
  readonly advertisesFormats?: boolean | ReadonlyArray<string>;
  /**
   * Hand the widget side out unstarted and bare: the widget (a `RoomWidgetClient`, a stock
   * widget) starts its `WidgetApi` and says `content_loaded` itself (`waitForIframeLoad: false`,
   * as Element Web embeds Element Call), so `load()` is not for it and `received` stays empty.
   */
  readonly widgetStartsItself?: boolean;
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
  /**
   * This class with a default for hosts given neither `grant` nor `driver`: each suite's own
   * approvals (the driver's capability helper, which this package cannot depend on).
   */
  static granting(defaultGrant: Grant): new (options?: WidgetFrameOptions) => WidgetFrame {
    return class extends WidgetFrame {
      constructor(options: WidgetFrameOptions = {}) {
        const given = options.grant !== undefined || options.driver !== undefined;
        super(given ? options : { ...options, grant: defaultGrant });
      }
    };
  }

  readonly widgetApi: WidgetApi;
  readonly clientApi: ClientWidgetApi;
  /** The `data` of every `toWidget` `send_to_device` the widget received. */
  readonly received: Record<string, unknown>[] = [];
  /** Every message the host posted to the widget, in order. */
  readonly toWidget: ReadonlyArray<unknown>;
  private readonly widgetStartsItself: boolean;
  private readonly loadListeners: Array<() => void> = [];

  constructor(options: WidgetFrameOptions) {
    const widgetId = options.widgetId ?? "w1";
    this.widgetStartsItself = options.widgetStartsItself === true;
    let hostWindow: FrameWindow;
    const widgetWindow: FrameWindow = new FrameWindow(WIDGET_ORIGIN, HOST_ORIGIN, () => hostWindow);
    hostWindow = new FrameWindow(HOST_ORIGIN, WIDGET_ORIGIN, () => widgetWindow);
    this.toWidget = widgetWindow.posted;

    // The host first, so that it listens before the widget can say anything: an iframe whose
    // contentWindow is the widget's window.
    const iframe = {
      contentWindow: widgetWindow,
      addEventListener: (type: string, listener: () => void) => {
        if (type === "load") this.loadListeners.push(listener);
      },
    } as unknown as HTMLIFrameElement;
    const widget = new Widget({
      id: widgetId,
      creatorUserId: options.creatorUserId ?? "@alice:example.org",
      type: options.type ?? "org.example.app",
      url: `${WIDGET_ORIGIN}/index.html`,
      ...(this.widgetStartsItself ? { waitForIframeLoad: false } : {}),
    });
    this.clientApi = new ClientWidgetApi(widget, iframe, hostDriver(options));

    // The widget: `WidgetApi` posts to `globalThis.parent`, so the frame's parent is the host.
    const parent = Object.getOwnPropertyDescriptor(globalThis, "parent");
    Object.defineProperty(globalThis, "parent", { value: hostWindow, configurable: true });
    try {
      this.widgetApi = new WidgetApi(widgetId, HOST_ORIGIN);
    } finally {
      if (parent === undefined) Reflect.deleteProperty(globalThis, "parent");
      else Object.defineProperty(globalThis, "parent", parent);
    }
    const advertised =
      options.advertisesFormats === true
        ? FORMAT_IDENTIFIERS
        : options.advertisesFormats || undefined;
    if (advertised !== undefined) {
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
    if (this.widgetStartsItself) return;
    for (const capability of options.capabilities ?? [])
      this.widgetApi.requestCapability(capability);
    this.widgetApi.on("action:send_to_device", (event: CustomEvent<IWidgetApiRequest>) => {
      event.preventDefault();
      this.received.push(event.detail.data as Record<string, unknown>);
      this.widgetApi.transport.reply(event.detail, {});
    });
  }

  /** The widget page loads: its API starts, then the iframe's `load` starts negotiation. */
  load(): Promise<void> {
    if (this.widgetStartsItself) {
      throw new Error("WidgetFrame.load: this frame's widget starts itself (widgetStartsItself)");
    }
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

function hostDriver(options: WidgetFrameOptions): WidgetDriver {
  if (options.driver !== undefined && options.grant !== undefined) {
    throw new Error("WidgetFrame: give the host a `grant` or a `driver`, not both");
  }
  if (options.driver !== undefined) return options.driver;
  if (options.grant !== undefined) return new TestWidgetDriver(options.grant);
  throw new Error("WidgetFrame: the host needs a `grant` or a `driver`");
}

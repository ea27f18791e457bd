import { FORMATS, type Format, formatIssues, type NormalSendRequest } from "@widget-todevice/codec";
import {
  type IWidgetApiRequest,
  type IWidgetApiResponseData,
  WidgetApi,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";
import { checkDeclaredTypes, isGranted, requestToDeviceCapabilities } from "./capabilities.js";
import type { ContentOf, ContentValidator } from "./content-validator.js";
import { Deadline, timerDelay } from "./deadline.js";
import {
  quote,
  ToDeviceCapabilityError,
  ToDeviceError,
  ToDeviceNegotiationError,
  ToDeviceSendError,
} from "./errors.js";
import { guardHostMessages } from "./host-guard.js";
import {
  advertiseFormats,
  negotiate,
  sendFormat,
  type ToDeviceNegotiation,
} from "./negotiation.js";
import { Readiness } from "./readiness.js";
import { Receiver } from "./receiver.js";
import {
  buildRequest,
  postSendToDevice,
  type Recipients,
  requestData,
  type SendOptions,
  type SendReceipt,
  sendErrorOf,
} from "./send.js";
import { countFailures, readSendReply } from "./send-reply.js";
import type {
  MessagesOptions,
  ReceivedToDeviceMessage,
  ReceiveErrorHandler,
  SubscribeOptions,
  ToDeviceHandler,
  Unsubscribe,
} from "./subscription.js";
import { readWidgetParameters, type WidgetParameters } from "./widget-parameters.js";

/** MSC3819 asks widgets to wait 60 s for `send_to_device`; matrix-widget-api waits 10 s. */
export const DEFAULT_SEND_TIMEOUT_MS = 60_000;

/**
 * How long `ready` waits for the host to negotiate: long enough for a user to answer the host's
 * capability prompt, short enough that a host that never asks is noticed.
 */
export const DEFAULT_READY_TIMEOUT_MS = 120_000;

export interface ToDeviceWidgetOptions {
  /** Event types this widget sends: their send capabilities are requested. */
  readonly send?: ReadonlyArray<string>;
  /** Event types this widget receives: their receive capabilities are requested. */
  readonly receive?: ReadonlyArray<string>;
  /** Where the widget's parameters are read from; default the page's own URL. */
  readonly url?: string | URL;
  /** Overrides the `widgetId` URL parameter. */
  readonly widgetId?: string;
  /** Overrides the `userId` URL parameter. */
  readonly userId?: string;
  /** Overrides the `roomId` URL parameter. */
  readonly roomId?: string;
  /** Overrides the device ID read from the URL (section 9). */
  readonly deviceId?: string;
  /** The formats to advertise to the host; default all. Legacy is always spoken. */
  readonly formats?: ReadonlyArray<Format>;
  /**
   * How long a send may take, its wait for `ready` included; default 60 s. Longer than
   * `MAX_TIMEOUT_MS` (`Infinity` included) is clamped to it; zero, negative or NaN throws.
   */
  readonly sendTimeoutMs?: number;
  /**
   * How long `ready` waits for the host to ask for capabilities, answer the versions and (on
   * hosts that notify) report what it approved; default 120 s. Clamped and checked like
   * `sendTimeoutMs`.
   */
  readonly readyTimeoutMs?: number;
  /** Incoming messages that reach no handler (invalid, out of scope, a handler failed); default `console.warn`. */
  readonly onError?: ReceiveErrorHandler;
}

export interface CreateToDeviceWidgetOptions extends ToDeviceWidgetOptions {
  /**
   * A widget API to use instead of creating one; it must not have negotiated capabilities yet.
   * It is started if it is not.
   */
  readonly api?: WidgetApi;
  /** The host's origin; default the origin of the `parentUrl` parameter. `"*"` trusts any parent. */
  readonly parentOrigin?: string;
  /** Send `content_loaded` after starting: for hosts that embed the widget with `waitForIframeLoad: false`. */
  readonly contentLoaded?: boolean;
}

function pageUrl(): string | undefined {
  const location = (globalThis as { location?: { href?: string } }).location;
  return typeof location?.href === "string" && location.href.startsWith("http")
    ? location.href
    : undefined;
}

/**
 * MSC3819 to-device messaging on a matrix-widget-api `WidgetApi`: capabilities, format
 * negotiation, validated sends and typed subscriptions. Create it with `createToDeviceWidget`,
 * or wrap a `WidgetApi` before calling its `start()`.
 */
export class ToDeviceWidget {
  readonly api: WidgetApi;
  readonly userId: string | undefined;
  /** `undefined` for a widget not bound to a room. */
  readonly roomId: string | undefined;
  /** The device of the client rendering this widget (section 9). */
  readonly deviceId: string | undefined;
  /**
   * Resolves once capabilities are negotiated and the host's versions are known. Rejects with a
   * `ToDeviceNegotiationError` when the host does not finish within `readyTimeoutMs`, sends a
   * malformed negotiation message, or the widget is closed first.
   */
  readonly ready: Promise<ToDeviceNegotiation>;

  private readonly sendTypes: ReadonlySet<string>;
  private readonly receiveTypes: ReadonlySet<string>;
  private readonly formats: ReadonlyArray<Format>;
  private readonly sendTimeoutMs: number;
  private readonly receiver: Receiver;
  private readonly stopAdvertising: () => void;
  private readonly readiness: Readiness;
  /** The deadline of every send in progress, with its type, so that `close()` can end them. */
  private readonly sends = new Map<Deadline, string>();
  private closed = false;
  private readonly widgetIdParameter: string | undefined;

  constructor(api: WidgetApi, options: ToDeviceWidgetOptions = {}) {
    const send = [...new Set(options.send ?? [])];
    const receive = [...new Set(options.receive ?? [])];
    checkDeclaredTypes([...send, ...receive]);
    const url = options.url ?? pageUrl();
    const parameters: WidgetParameters = url === undefined ? {} : readWidgetParameters(url);
    this.api = api;
    this.widgetIdParameter = options.widgetId ?? parameters.widgetId;
    this.userId = options.userId ?? parameters.userId;
    this.roomId = options.roomId ?? parameters.roomId;
    this.deviceId = options.deviceId ?? parameters.deviceId;
    this.sendTypes = new Set(send);
    this.receiveTypes = new Set(receive);
    this.formats = FORMATS.filter(
      (f) => f === "legacy" || (options.formats ?? FORMATS).includes(f),
    );
    this.sendTimeoutMs = checkedDelay(
      "sendTimeoutMs",
      options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
    );
    const readyDelay = checkedDelay(
      "readyTimeoutMs",
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    const onError: ReceiveErrorHandler =
      options.onError ?? ((error) => console.warn(`[to-device] ${error.message}`, error));

    requestToDeviceCapabilities(api, send, receive);
    this.readiness = new Readiness(api, readyDelay, () =>
      negotiate(api, {
        formats: this.formats,
        send: this.sendTypes,
        receive: this.receiveTypes,
        roomId: this.roomId,
      }),
    );
    this.ready = this.readiness.ready;
    this.receiver = new Receiver(onError, this.roomId, () => this.readiness.negotiation);
    // Before the widget API starts, so that the guard sees the host's messages first.
    guardHostMessages(api, (misbehaviour) => {
      if (!this.closed) this.readiness.misbehaved(misbehaviour);
    });
    this.stopAdvertising = advertiseFormats(api, this.formats);
    api.on(`action:${WidgetApiToWidgetAction.SendToDevice}`, this.onToDevice);
  }

  /** The widget's ID: the one the widget API learned, else the URL's. */
  get widgetId(): string | undefined {
    return this.api.transport.widgetId ?? this.widgetIdParameter;
  }

  /** The negotiation's outcome, or `undefined` before `ready`. */
  get negotiation(): ToDeviceNegotiation | undefined {
    return this.readiness.negotiation;
  }

  /**
   * Sends one content to every listed device. Resolves when the host confirms; rejects with a
   * `ToDeviceSendError` otherwise, including when the host reached only some devices (unless
   * `acceptPartial`). Waits for `ready` first: call it any time after creating the widget.
   */
  async send(
    type: string,
    recipients: Recipients,
    content: object,
    options: SendOptions = {},
  ): Promise<SendReceipt> {
    if (this.closed) {
      throw new ToDeviceSendError(`the widget is closed; the ${type} send was not sent`, {
        reason: "closed",
        type,
      });
    }
    if (!this.sendTypes.has(type)) {
      throw new ToDeviceSendError(
        `${JSON.stringify(type)} is not in this widget's \`send\` types, so its capability was never requested`,
        { reason: "not_declared", type },
      );
    }
    // Bad input fails here, before anything is posted, with the codec's paths.
    const built = buildRequest(type, recipients, content, options);
    if (built._tag === "Left") {
      throw new ToDeviceSendError(`invalid ${type} send: ${formatIssues(built.left)}`, {
        reason: "invalid_request",
        type,
        issues: built.left,
      });
    }
    const delay =
      options.timeoutMs === undefined ? this.sendTimeoutMs : timerDelay(options.timeoutMs);
    if (typeof delay === "string") {
      throw new ToDeviceSendError(`invalid ${type} send: timeoutMs ${delay}`, {
        reason: "invalid_request",
        type,
        issues: [{ path: "timeoutMs", code: "invalid_value", message: delay }],
      });
    }
    // One deadline for the whole send: its wait for `ready`, then for the host's answer.
    let phase: "ready" | "answer" = "ready";
    const deadline = new Deadline(
      delay,
      () =>
        new ToDeviceSendError(
          phase === "ready"
            ? `the host did not finish negotiating within the ${type} send's ${delay} ms; nothing was sent`
            : `the host did not answer the ${type} send within ${delay} ms; it may still deliver it`,
          { reason: "timeout", type },
        ),
    );
    this.sends.set(deadline, type);
    try {
      let negotiation: ToDeviceNegotiation;
      try {
        negotiation = await deadline.race(this.ready);
      } catch (error) {
        if (!(error instanceof ToDeviceNegotiationError)) throw error;
        throw new ToDeviceSendError(
          `the ${type} send was not sent: ${error.message}`,
          error.reason === "closed"
            ? { reason: "closed", type, cause: error }
            : { reason: "not_ready", type, cause: error },
        );
      }
      phase = "answer";
      return await this.post(type, built.right, negotiation, options, delay, deadline);
    } finally {
      deadline.cancel();
      this.sends.delete(deadline);
    }
  }

  private async post(
    type: string,
    built: NormalSendRequest,
    negotiation: ToDeviceNegotiation,
    options: SendOptions,
    delay: number,
    deadline: Deadline,
  ): Promise<SendReceipt> {
    if (!negotiation.granted.send.includes(type)) {
      throw new ToDeviceSendError(`the host did not grant sending ${type}`, {
        reason: "not_permitted",
        type,
      });
    }
    const ours = this.formats.filter((format) => negotiation.hostFormats.includes(format));
    const request =
      options.scope === "auto" && negotiation.scoped ? { ...built, scope: {} } : built;
    const format = sendFormat(ours, request.scope !== undefined);
    const data = format === undefined ? undefined : requestData(request, format);
    if (format === undefined || data === undefined) {
      throw new ToDeviceSendError(
        `the host cannot send room-scoped messages (it does not advertise org.matrix.msc3819.scoped); the ${type} send was not sent unscoped`,
        { reason: "scope_unsupported", type },
      );
    }
    let response: unknown;
    try {
      response = await deadline.race(postSendToDevice(this.api, data, delay));
    } catch (error) {
      throw error instanceof ToDeviceSendError ? error : sendErrorOf(type, error, delay);
    }
    // Section 6: only `{}` or a well-formed `failures` report is a success.
    const reply = readSendReply(response);
    if (reply.kind === "refused") {
      throw new ToDeviceSendError(`the host refused the ${type} send: ${reply.message}`, {
        reason: "host_refused",
        type,
        hostMessage: reply.message,
        hostReply: response,
      });
    }
    if (reply.kind === "invalid") {
      throw new ToDeviceSendError(
        `the host's answer to the ${type} send is invalid (${reply.problem}); it may or may not have delivered: ${quote(response)}`,
        { reason: "invalid_reply", type, hostReply: response },
      );
    }
    const failed = countFailures(reply.failures);
    if (failed > 0 && options.acceptPartial !== true) {
      throw new ToDeviceSendError(
        `the host did not reach ${failed} device(s) for ${type}: ${quote(reply.failures)}`,
        { reason: "partial_failure", type, failures: reply.failures, hostReply: response },
      );
    }
    return { format, failures: reply.failures };
  }

  /**
   * Calls `handler` for each message of `type`. With `options.content` (a Standard Schema such
   * as zod, valibot or arktype, an io-ts codec, or a type guard) only contents it accepts reach
   * the handler, typed and as the validator returned them; the others go to `onError` as
   * `invalid_content`. Returns the function that unsubscribes.
   */
  subscribe<V extends ContentValidator | undefined = undefined>(
    type: string,
    handler: ToDeviceHandler<ContentOf<V>>,
    options?: SubscribeOptions<V>,
  ): Unsubscribe {
    this.checkReceivable(type);
    return this.receiver.subscribe(type, handler, options);
  }

  /**
   * The messages of `type` as an async iterator (`for await`), validated like `subscribe`'s;
   * `break` unsubscribes.
   */
  messages<V extends ContentValidator | undefined = undefined>(
    type: string,
    options?: MessagesOptions<V>,
  ): AsyncIterableIterator<ReceivedToDeviceMessage<ContentOf<V>>> {
    this.checkReceivable(type);
    return this.receiver.messages(type, options);
  }

  /**
   * Stops receiving and advertising, and settles everything pending: `ready` if it has not
   * settled, and every send in progress, reject with reason `"closed"`. The widget API itself
   * is left running.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver.clear();
    this.stopAdvertising();
    this.api.off(`action:${WidgetApiToWidgetAction.SendToDevice}`, this.onToDevice);
    this.readiness.close();
    for (const [deadline, type] of this.sends) {
      deadline.stop(
        new ToDeviceSendError(
          `the widget was closed before the ${type} send settled; if it was posted, the host may still deliver it`,
          { reason: "closed", type },
        ),
      );
    }
  }

  private checkReceivable(type: string): void {
    if (this.receiveTypes.has(type) || isGranted(this.api, "receive", type)) return;
    throw new ToDeviceCapabilityError(
      `${JSON.stringify(type)} is not in this widget's \`receive\` types: its messages would never arrive`,
      "not_declared",
      [type],
    );
  }

  // Every incoming request is answered, and nothing is thrown back into the host (section 7).
  private readonly onToDevice = (event: CustomEvent<IWidgetApiRequest>): void => {
    event.preventDefault();
    const request = event.detail;
    let reply: IWidgetApiResponseData;
    try {
      reply = this.receiver.receive(request.data);
    } catch (error) {
      reply = { error: { message: `the widget could not handle the message: ${String(error)}` } };
    }
    this.api.transport.reply(request, reply);
  };
}

function checkedDelay(option: string, ms: number): number {
  const delay = timerDelay(ms);
  if (typeof delay === "string") throw new ToDeviceError(`${option} ${delay}`);
  return delay;
}

/**
 * Creates a to-device widget from the page's URL parameters (`widgetId`, `parentUrl`,
 * `userId`, `roomId`, and the device ID of section 9) and starts its widget API. Subscribe
 * right away; `send` waits for the negotiation by itself.
 */
export function createToDeviceWidget(options: CreateToDeviceWidgetOptions = {}): ToDeviceWidget {
  let api = options.api;
  if (api === undefined) {
    const url = options.url ?? pageUrl();
    const parameters = url === undefined ? {} : readWidgetParameters(url);
    const parentOrigin = options.parentOrigin ?? originOf(parameters.parentUrl);
    if (parentOrigin === undefined) {
      throw new ToDeviceError(
        "the host's origin is unknown: embed the widget with a `parentUrl` URL parameter, or pass `parentOrigin`",
      );
    }
    api = new WidgetApi(options.widgetId ?? parameters.widgetId ?? null, parentOrigin);
  }
  const widget = new ToDeviceWidget(api, options);
  if (!api.transport.ready) api.start();
  if (options.contentLoaded === true) {
    api.sendContentLoaded().catch((error: unknown) => {
      console.warn("[to-device] content_loaded was not acknowledged", error);
    });
  }
  return widget;
}

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

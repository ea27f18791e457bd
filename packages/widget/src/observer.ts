import type { Format } from "@widget-todevice/codec";
import {
  type IWidgetApiRequest,
  type IWidgetApiRequestData,
  type IWidgetApiResponse,
  type WidgetApi,
  type WidgetApiAction,
  WidgetApiFromWidgetAction,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";
import { checkDeclaredTypes } from "./capabilities.js";
import type { ContentOf, ContentValidator } from "./content-validator.js";
import { timerDelay } from "./deadline.js";
import { quote, ToDeviceCapabilityError, ToDeviceError, ToDeviceSendError } from "./errors.js";
import { guardHostMessages } from "./host-guard.js";
import { advertiseFormats, negotiate, type ToDeviceNegotiation } from "./negotiation.js";
import { Readiness } from "./readiness.js";
import { Receiver } from "./receiver.js";
import { sendErrorOf } from "./send.js";
import { countFailures, readSendReply } from "./send-reply.js";
import type {
  MessagesOptions,
  ReceivedToDeviceMessage,
  ReceiveErrorHandler,
  SubscribeOptions,
  ToDeviceHandler,
  Unsubscribe,
} from "./subscription.js";
import { DEFAULT_READY_TIMEOUT_MS } from "./to-device-widget.js";

// A widget whose to-device traffic another client owns (matrix-js-sdk's `RoomWidgetClient`):
// the observer reads the host's `send_to_device` requests and the host's answers to the
// client's sends, and answers nothing itself. Its one change on the wire is the version answer
// (section 2), so that a host that vouches for sender facts (section 7) sends them.

/**
 * The formats an observer advertises: legacy and recipients, never scoped. A scoped widget
 * bound to a room only receives messages scoped to that room (section 7), which would cut the
 * client off from every peer that sends unscoped (Element Call does).
 */
const OBSERVED_FORMATS: ReadonlyArray<Format> = ["legacy", "recipients"];

/** The default for `onSendError`: a partial failure is logged rather than lost. */
const warnSendError = (error: ToDeviceSendError): void =>
  console.warn(`[to-device] ${error.message}`, error);

/** What an observer watches, and where it reports. */
export interface ToDeviceObserverOptions {
  /**
   * Incoming types to observe; the client must ask for their receive capabilities itself (the
   * observer asks for none).
   */
  readonly receive?: ReadonlyArray<string>;
  /** Types whose sends, by the client, are observed: their failures go to `onSendError`. */
  readonly send?: ReadonlyArray<string>;
  /**
   * Called for each observed send the host did not confirm for every device: a partial success
   * (`partial_failure`, with `failures`), a refusal (`host_refused`), an answer that is neither
   * (`invalid_reply`), or no answer (`timeout`, `transport`). Default `console.warn`.
   */
  readonly onSendError?: (error: ToDeviceSendError) => void;
  /** Incoming messages that reach no handler (invalid content, a handler failed); default `console.warn`. */
  readonly onError?: ReceiveErrorHandler;
  /** How long `ready` waits for the host to negotiate; default 120 s, clamped and checked like the widget's. */
  readonly readyTimeoutMs?: number;
}

/**
 * Observes the to-device traffic of a client that owns the widget API, matrix-js-sdk's
 * embedded `RoomWidgetClient` for example, without taking it over: typed subscriptions with
 * the sender facts the host vouches for (`sender_device`, `sender_verified`), and the failures
 * of the client's own sends. It replies to nothing the client answers and asks for no
 * capability. Create it with `observeToDevice` before the client starts the widget API.
 */
export class ToDeviceObserver {
  /** The widget API the client owns. */
  readonly api: WidgetApi;
  /**
   * Resolves once the client's capabilities are negotiated and the host's versions are known;
   * `granted` says which observed types the host granted the client. Rejects like the widget's.
   */
  readonly ready: Promise<ToDeviceNegotiation>;

  private readonly sendTypes: ReadonlySet<string>;
  private readonly receiveTypes: ReadonlySet<string>;
  private readonly receiver: Receiver;
  private readonly readiness: Readiness;
  private readonly stopAdvertising: () => void;
  private readonly onSendError: (error: ToDeviceSendError) => void;
  private closed = false;

  constructor(api: WidgetApi, options: ToDeviceObserverOptions = {}) {
    if (api.transport.ready) {
      throw new ToDeviceError(
        "the widget API is already started: create the observer before the client that starts it (createRoomWidgetClient), so that the host learns the observer's versions",
      );
    }
    const send = [...new Set(options.send ?? [])];
    const receive = [...new Set(options.receive ?? [])];
    checkDeclaredTypes([...send, ...receive]);
    const readyDelay = timerDelay(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    if (typeof readyDelay === "string") throw new ToDeviceError(`readyTimeoutMs ${readyDelay}`);
    this.api = api;
    this.sendTypes = new Set(send);
    this.receiveTypes = new Set(receive);
    this.onSendError = options.onSendError ?? warnSendError;
    const onError: ReceiveErrorHandler =
      options.onError ?? ((error) => console.warn(`[to-device] ${error.message}`, error));
    this.readiness = new Readiness(api, readyDelay, () =>
      negotiate(api, {
        formats: OBSERVED_FORMATS,
        send: this.sendTypes,
        receive: this.receiveTypes,
        roomId: undefined,
      }),
    );
    this.ready = this.readiness.ready;
    // Never scoped (see OBSERVED_FORMATS), so no room to hold messages to.
    this.receiver = new Receiver(onError, undefined, () => this.readiness.negotiation);
    guardHostMessages(api, (misbehaviour) => {
      if (!this.closed) this.readiness.misbehaved(misbehaviour);
    });
    // The client leaves `supported_api_versions` to the widget API's stock answer, so this
    // answer is the only one (section 2).
    this.stopAdvertising = advertiseFormats(api, OBSERVED_FORMATS);
    api.on(`action:${WidgetApiToWidgetAction.SendToDevice}`, this.onToDevice);
    this.observeSends();
  }

  /** The negotiation's outcome, or `undefined` before `ready`. */
  get negotiation(): ToDeviceNegotiation | undefined {
    return this.readiness.negotiation;
  }

  /** As `ToDeviceWidget.subscribe`, for an observed `receive` type. */
  subscribe<V extends ContentValidator | undefined = undefined>(
    type: string,
    handler: ToDeviceHandler<ContentOf<V>>,
    options?: SubscribeOptions<V>,
  ): Unsubscribe {
    this.checkObserved(type);
    return this.receiver.subscribe(type, handler, options);
  }

  /** As `ToDeviceWidget.messages`, for an observed `receive` type. */
  messages<V extends ContentValidator | undefined = undefined>(
    type: string,
    options?: MessagesOptions<V>,
  ): AsyncIterableIterator<ReceivedToDeviceMessage<ContentOf<V>>> {
    this.checkObserved(type);
    return this.receiver.messages(type, options);
  }

  /**
   * Stops observing: subscriptions end, sends are no longer watched, `ready` rejects if it has
   * not settled, and the widget API answers `supported_api_versions` with its stock list again.
   * The client and the widget API keep running.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver.clear();
    this.stopAdvertising();
    this.api.off(`action:${WidgetApiToWidgetAction.SendToDevice}`, this.onToDevice);
    this.readiness.close();
  }

  private checkObserved(type: string): void {
    if (this.receiveTypes.has(type)) return;
    throw new ToDeviceCapabilityError(
      `${JSON.stringify(type)} is not in this observer's \`receive\` types`,
      "not_declared",
      [type],
    );
  }

  // The client answers the host (it calls preventDefault and replies); the observer only reads.
  private readonly onToDevice = (event: CustomEvent<IWidgetApiRequest>): void => {
    try {
      this.receiver.receive(event.detail.data);
    } catch (error) {
      console.error("[to-device] the observer could not read a message", error);
    }
  };

  /**
   * Watches the answers to the client's `send_to_device` requests where the transport hands
   * them out: its `sendComplete`, which every request of the widget API goes through (the
   * client wraps it the same way). Wrapped, never replaced back, since the client may have
   * wrapped it after the observer; closing makes the wrapper pass everything through.
   */
  private observeSends(): void {
    const transport = this.api.transport;
    const sendComplete = transport.sendComplete.bind(transport);
    transport.sendComplete = <T extends IWidgetApiRequestData, R extends IWidgetApiResponse>(
      action: WidgetApiAction,
      data: T,
    ): Promise<R> => {
      const answer = sendComplete<T, R>(action, data);
      const type = (data as { type?: unknown }).type;
      if (
        !this.closed &&
        action === WidgetApiFromWidgetAction.SendToDevice &&
        typeof type === "string" &&
        this.sendTypes.has(type)
      ) {
        const timeoutMs = transport.timeoutSeconds * 1000;
        answer.then(
          (reply) => this.sendAnswered(type, reply.response),
          (error: unknown) => this.report(sendErrorOf(type, error, timeoutMs)),
        );
      }
      return answer;
    };
  }

  private sendAnswered(type: string, response: unknown): void {
    // Read as strictly as the widget's own sends (section 6).
    const reply = readSendReply(response);
    if (reply.kind === "refused") {
      this.report(
        new ToDeviceSendError(`the host refused the ${type} send: ${reply.message}`, {
          reason: "host_refused",
          type,
          hostMessage: reply.message,
          hostReply: response,
        }),
      );
    } else if (reply.kind === "invalid") {
      this.report(
        new ToDeviceSendError(
          `the host's answer to the ${type} send is invalid (${reply.problem}); it may or may not have delivered: ${quote(response)}`,
          { reason: "invalid_reply", type, hostReply: response },
        ),
      );
    } else if (countFailures(reply.failures) > 0) {
      this.report(
        new ToDeviceSendError(
          `the host did not reach ${countFailures(reply.failures)} device(s) for ${type}: ${quote(reply.failures)}`,
          { reason: "partial_failure", type, failures: reply.failures, hostReply: response },
        ),
      );
    }
  }

  private report(error: ToDeviceSendError): void {
    if (this.closed) return;
    try {
      this.onSendError(error);
    } catch (thrown) {
      console.error("[to-device] onSendError threw", thrown, error);
    }
  }
}

/**
 * Observes the to-device traffic of the client that owns `api` (matrix-js-sdk's
 * `createRoomWidgetClient`): call it before creating the client, which starts the widget API.
 */
export function observeToDevice(
  api: WidgetApi,
  options: ToDeviceObserverOptions = {},
): ToDeviceObserver {
  return new ToDeviceObserver(api, options);
}

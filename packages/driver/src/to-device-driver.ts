import {
  capabilitySpellings,
  FORMAT_IDENTIFIERS,
  type Format,
  formatsIn,
  isReservedType,
  type Limits,
} from "@widget-todevice/codec";
import {
  type ClientWidgetApi,
  CurrentApiVersions,
  type IWidgetApiErrorResponseDataDetails,
  type IWidgetApiRequest,
  type IWidgetApiResponseData,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";
import { type AnswerDeadlineOptions, DEFAULT_ANSWER_DEADLINE } from "./answer-deadline.js";
import { type ChunkLimits, DEFAULT_CHUNK_LIMITS } from "./chunking.js";
import type { DeliveryFailures, MatrixApiError } from "./delivery-report.js";
import type { EncryptionPolicy } from "./encryption-policy.js";
import { consoleLogger, type DriverLogger } from "./logger.js";
import { RecipientOrder } from "./ordering.js";
import { DEFAULT_RETRY_OPTIONS, type RetryOptions } from "./retry.js";
import { checkSendRequest } from "./send-request-checks.js";
import {
  type DeliveryStats,
  type IncomingTrust,
  type PreNegotiationOptions,
  type RoutedWidget,
  ToDeviceRouter,
} from "./to-device-router.js";
import { type SendContext, type SendResult, ToDeviceSender } from "./to-device-sender.js";
import type { ToDeviceTransport } from "./transport.js";

/** Synapse's cap on one device message: one larger message fails the whole request with 413. */
export const DEFAULT_MAX_MESSAGE_BYTES = 65_536;

/**
 * 32 MiB: what a 10 Mbit/s uplink carries in about 27 s, inside the 30 s retry deadline and the
 * 60 s a widget waits. A key rotation to 300 devices is about 0.5 MB; 60 KB to 500 devices fits.
 */
export const DEFAULT_MAX_UPLOAD_BYTES_PER_SEND = 33_554_432;

export interface ToDeviceDriverOptions {
  readonly transport: ToDeviceTransport;
  /** Section 5; default `"strict"`. */
  readonly encryptionPolicy?: EncryptionPolicy;
  /** Lets a global widget send cleartext when it asks for it (strict policy); default `false`. */
  readonly allowGlobalCleartext?: boolean;
  readonly chunkLimits?: Partial<ChunkLimits>;
  readonly retry?: Partial<RetryOptions>;
  /**
   * How long a send may take before the widget is answered (section 6), covering its wait in
   * line, device lists, encryption, chunks and retries. When it passes the widget is answered at
   * once and nothing more of the send goes out. `stock` (default 8 s) is for widgets that
   * advertised only the legacy format or are not negotiated yet, and for `forWidgetDriver`: a
   * stock matrix-widget-api widget gives up after 10 s. `negotiated` (default 55 s) is for
   * widgets that advertised or used a newer format: the widget package waits 60 s. A value
   * over 2^31 - 1 ms (`Infinity`) means no deadline.
   */
  readonly answerDeadlineMs?: Partial<AnswerDeadlineOptions>;
  /** Per device message, after encryption; default 65,536 bytes. */
  readonly maxMessageBytes?: number;
  /**
   * Most bytes one send may make the host upload: each content's size (its estimated ciphertext
   * when encrypted) times its device messages, counted before expanding or encrypting. A send
   * over it is refused whole, before anything is sent. Default 32 MiB.
   */
  readonly maxUploadBytesPerSend?: number;
  /** Bound on a device list lookup (key query); default 10 s. */
  readonly deviceListTimeoutMs?: number;
  /** `/sendToDevice` requests of one send in flight at once; default 4. */
  readonly maxConcurrentRequests?: number;
  /** Sends one widget may have in flight; more are refused at once. Default 128. */
  readonly maxPendingSendsPerWidget?: number;
  /** Request limits for the codec (bytes, recipients, depth). */
  readonly limits?: Partial<Limits>;
  readonly incomingTrust?: IncomingTrust;
  /** Section 7's buffer before negotiation: bounded in age, messages and bytes, fair per sender. */
  readonly preNegotiation?: Partial<PreNegotiationOptions>;
  /** Bytes of `org.matrix.msgid` memory per widget (default 256 KiB). */
  readonly dedupMaxBytes?: number;
  readonly logger?: DriverLogger;
}

/** The widget's place in the world, as the host knows it. */
export interface WidgetBinding {
  /** The widget's room; `null` for a global (account) widget. */
  readonly roomId: string | null;
  /** Whether that room is encrypted; a function when it can change while the widget runs. */
  readonly roomEncrypted: boolean | (() => boolean);
  /**
   * Set when attaching after the `ClientWidgetApi` emitted `ready`: the driver then asks the
   * widget for its versions at once instead of waiting for `ready`.
   */
  readonly alreadyReady?: boolean;
}

export interface WidgetAttachment {
  /** The formats the widget speaks; `undefined` until negotiated. */
  readonly formats: ReadonlyArray<Format> | undefined;
  /** Resolves once capabilities are negotiated and the widget's formats are known. */
  readonly negotiated: Promise<ReadonlyArray<Format>>;
  /** What incoming messages did for this widget. */
  readonly stats: DeliveryStats;
  /** Stops everything `attach` started: listeners, routing, retries of in-flight sends. */
  detach(): void;
}

/** The `WidgetDriver.sendToDevice` signature. */
export type SendToDeviceMethod = (
  eventType: string,
  encrypted: boolean,
  contentMap: { [userId: string]: { [deviceId: string]: object } },
) => Promise<void>;

/**
 * Thrown by the `sendToDevice` method of `forWidgetDriver` when not every device got the message.
 * Pass it to `toDeviceErrorDetails` from `WidgetDriver.processError`.
 */
export class ToDeviceDeliveryError extends Error {
  readonly failures: DeliveryFailures | undefined;
  readonly matrixApiError: MatrixApiError | undefined;

  constructor(message: string, failures?: DeliveryFailures, matrixApiError?: MatrixApiError) {
    super(message);
    this.name = "ToDeviceDeliveryError";
    this.failures = failures;
    this.matrixApiError = matrixApiError;
  }
}

/** For `WidgetDriver.processError`: the `matrix_api_error` of a failed to-device send. */
export function toDeviceErrorDetails(
  error: unknown,
): IWidgetApiErrorResponseDataDetails | undefined {
  if (!(error instanceof ToDeviceDeliveryError) || error.matrixApiError === undefined)
    return undefined;
  const { http_status, http_headers, url, response } = error.matrixApiError;
  return {
    matrix_api_error: {
      http_status,
      http_headers: { ...http_headers },
      url,
      response: { ...response },
    },
  };
}

/** Section 2: the stock versions plus this project's format identifiers. */
export function supportedApiVersions(): string[] {
  return [...new Set([...CurrentApiVersions, ...FORMAT_IDENTIFIERS])];
}

/** The widget API response for a send result (section 6). */
export function responseOf(result: SendResult): IWidgetApiResponseData {
  switch (result.kind) {
    case "delivered":
      return result.failures === undefined ? {} : { failures: result.failures };
    case "refused":
      return { error: { message: result.message } };
    case "failed":
      return {
        error: {
          message: `Error sending event: ${result.message}`,
          failures: result.failures,
          ...(result.matrixApiError === undefined
            ? {}
            : { matrix_api_error: result.matrixApiError }),
        },
      };
  }
}

/**
 * The host side of widget to-device messaging: attach it to each widget's `ClientWidgetApi`.
 * It answers `send_to_device` in all three formats and `supported_api_versions`, and routes
 * incoming messages from the transport to every attached widget that may have them.
 */
export class ToDeviceDriver {
  readonly router: ToDeviceRouter;
  private readonly sender: ToDeviceSender;
  private readonly answerDeadline: AnswerDeadlineOptions;
  private readonly maxPending: number;
  private readonly limits: Partial<Limits> | undefined;
  private readonly logger: DriverLogger;
  private readonly unsubscribe: () => void;
  private readonly attachments = new Set<() => void>();

  constructor(options: ToDeviceDriverOptions) {
    this.logger = options.logger ?? consoleLogger;
    this.limits = options.limits;
    this.maxPending = options.maxPendingSendsPerWidget ?? 128;
    this.answerDeadline = { ...DEFAULT_ANSWER_DEADLINE, ...options.answerDeadlineMs };
    this.sender = new ToDeviceSender({
      transport: options.transport,
      encryptionPolicy: options.encryptionPolicy ?? "strict",
      allowGlobalCleartext: options.allowGlobalCleartext ?? false,
      chunkLimits: { ...DEFAULT_CHUNK_LIMITS, ...options.chunkLimits },
      retry: { ...DEFAULT_RETRY_OPTIONS, ...options.retry },
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxUploadBytesPerSend: options.maxUploadBytesPerSend ?? DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
      deviceListTimeoutMs: options.deviceListTimeoutMs ?? 10_000,
      maxConcurrentRequests: options.maxConcurrentRequests ?? 4,
      logger: this.logger,
    });
    this.router = new ToDeviceRouter({
      ...(options.incomingTrust === undefined ? {} : { incomingTrust: options.incomingTrust }),
      ...(options.preNegotiation === undefined ? {} : { preNegotiation: options.preNegotiation }),
      ...(options.dedupMaxBytes === undefined ? {} : { dedupMaxBytes: options.dedupMaxBytes }),
      logger: this.logger,
    });
    this.unsubscribe = this.router.connect(options.transport);
  }

  /** Attaches to one widget. Call right after constructing its `ClientWidgetApi`. */
  attach(api: ClientWidgetApi, binding: WidgetBinding): WidgetAttachment {
    const isRoomEncrypted = toGetter(binding.roomEncrypted);
    const controller = new AbortController();
    const order = new RecipientOrder();
    const advertised = new Set<Format>();
    let pending = 0;
    let resolveNegotiated!: (formats: ReadonlyArray<Format>) => void;
    const negotiated = new Promise<ReadonlyArray<Format>>((resolve) => {
      resolveNegotiated = resolve;
    });

    const canUse = (direction: "send" | "receive", type: string): boolean =>
      !isReservedType(type) &&
      capabilitySpellings(direction, type).some((c) => api.hasCapability(c));

    const route: RoutedWidget = this.router.addWidget({
      id: api.widget.id,
      roomId: binding.roomId,
      isRoomEncrypted,
      canReceive: (type) => canUse("receive", type),
      // Section 7's fields only; `feedToDevice` would spread the raw event.
      deliver: (message) =>
        api.transport.send(WidgetApiToWidgetAction.SendToDevice, { ...message }),
    });
    let formats: ReadonlyArray<Format> | undefined;

    const reply = (request: IWidgetApiRequest, response: IWidgetApiResponseData): void => {
      try {
        api.transport.reply(request, response);
      } catch (error) {
        this.logger.warn(`could not answer widget ${api.widget.id}`, error);
      }
    };

    const onVersions = (event: CustomEvent<IWidgetApiRequest>): void => {
      event.preventDefault();
      reply(event.detail, { supported_versions: supportedApiVersions() });
    };

    const onSend = (event: CustomEvent<IWidgetApiRequest>): void => {
      event.preventDefault();
      const request = event.detail;
      if (pending >= this.maxPending) {
        reply(request, {
          error: {
            message: `Too many to-device sends in progress (limit ${this.maxPending}); try again later`,
          },
        });
        return;
      }
      pending++;
      this.handle(
        request.data,
        (type) => canUse("send", type),
        (format) => {
          // Sending in a format is as good as advertising it.
          advertised.add(format);
          if (formats !== undefined && !formats.includes(format)) {
            formats = [...formats, format];
            route.negotiated(formats);
          }
          // Section 6: a widget that speaks a newer format waits as long as the widget package.
          const speaksNewer = [...(formats ?? []), ...advertised].some((f) => f !== "legacy");
          return {
            roomId: binding.roomId,
            roomEncrypted: isRoomEncrypted,
            widgetType: api.widget.type,
            order,
            signal: controller.signal,
            answerDeadlineMs: speaksNewer
              ? this.answerDeadline.negotiated
              : this.answerDeadline.stock,
          };
        },
      )
        .then((response) => reply(request, response))
        .finally(() => {
          pending--;
        });
    };

    const learnFormats = (): void => {
      api
        .getWidgetVersions()
        .then((versions) => {
          if (controller.signal.aborted) return;
          // A widget that asks for to-device capabilities speaks legacy at least.
          formats = [...new Set<Format>(["legacy", ...formatsIn(versions), ...advertised])];
          route.negotiated(formats);
          resolveNegotiated(formats);
        })
        .catch((error: unknown) =>
          this.logger.warn(`could not learn widget ${api.widget.id}'s versions`, error),
        );
    };

    api.on("action:supported_api_versions", onVersions);
    api.on("action:send_to_device", onSend);
    api.on("ready", learnFormats);
    if (binding.alreadyReady === true) learnFormats();

    const detach = (): void => {
      if (controller.signal.aborted) return;
      controller.abort();
      api.off("action:supported_api_versions", onVersions);
      api.off("action:send_to_device", onSend);
      api.off("ready", learnFormats);
      route.remove();
      this.attachments.delete(detach);
    };
    this.attachments.add(detach);

    return {
      get formats() {
        return formats;
      },
      negotiated,
      get stats() {
        return route.stats;
      },
      detach,
    };
  }

  /**
   * For hosts that implement `WidgetDriver.sendToDevice` instead of attaching: the same policy,
   * behind matrix-widget-api's own checks. It throws `ToDeviceDeliveryError` whenever a device
   * did not get the message, because that API can only answer `{}` or an error.
   */
  forWidgetDriver(binding: WidgetBinding & { readonly widgetType: string }): SendToDeviceMethod {
    const isRoomEncrypted = toGetter(binding.roomEncrypted);
    const order = new RecipientOrder();
    return async (eventType, encrypted, contentMap) => {
      const context: SendContext = {
        roomId: binding.roomId,
        roomEncrypted: isRoomEncrypted,
        widgetType: binding.widgetType,
        order,
        // matrix-widget-api answers the widget itself, in the only format it knows: legacy.
        answerDeadlineMs: this.answerDeadline.stock,
      };
      // matrix-widget-api checked the capability before calling.
      const response = await this.handle(
        { type: eventType, encrypted, messages: contentMap },
        () => true,
        () => context,
      );
      if (response.error !== undefined) {
        const error = response.error as {
          message: string;
          failures?: DeliveryFailures;
          matrix_api_error?: MatrixApiError;
        };
        throw new ToDeviceDeliveryError(error.message, error.failures, error.matrix_api_error);
      }
      if (response.failures !== undefined) {
        const failures = response.failures as DeliveryFailures;
        throw new ToDeviceDeliveryError("Some devices did not receive the message", failures);
      }
    };
  }

  /** Detaches every widget and stops listening to the transport. */
  dispose(): void {
    for (const detach of [...this.attachments]) detach();
    this.unsubscribe();
  }

  private async handle(
    data: unknown,
    canSend: (type: string) => boolean,
    contextFor: (format: Format) => SendContext,
  ): Promise<IWidgetApiResponseData> {
    try {
      const checked = checkSendRequest(data, canSend, this.limits);
      if (!checked.ok) return { error: { message: checked.message } };
      const context = contextFor(checked.request.format);
      return responseOf(await this.sender.send(checked.request, context));
    } catch (error) {
      // Section 8: never a crash, never silence.
      this.logger.error("unexpected failure handling send_to_device", error);
      return { error: { message: `Error sending event: ${String(error)}` } };
    }
  }
}

function toGetter(value: boolean | (() => boolean)): () => boolean {
  return typeof value === "function" ? value : () => value;
}

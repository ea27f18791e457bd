import type { DeliveryFailures, Format, Limits, MatrixApiError } from "@widget-todevice/codec";
import type { ClientWidgetApi, IWidgetApiErrorResponseDataDetails } from "matrix-widget-api";
import { type AnswerDeadlineOptions, DEFAULT_ANSWER_DEADLINE } from "./answer-deadline.js";
import { type ChunkLimits, DEFAULT_CHUNK_LIMITS } from "./chunking.js";
import type { EncryptionPolicy } from "./encryption-policy.js";
import { consoleLogger, type DriverLogger } from "./logger.js";
import { RecipientOrder } from "./ordering.js";
import { DEFAULT_RETRY_OPTIONS, type RetryOptions } from "./retry.js";
import { checkSendRequest } from "./send-request-checks.js";
import {
  type IncomingTrust,
  type PreNegotiationOptions,
  ToDeviceRouter,
} from "./to-device-router.js";
import { type SendContext, type SendResult, ToDeviceSender } from "./to-device-sender.js";
import type { ToDeviceTransport } from "./transport.js";
import {
  toGetter,
  type WidgetAttachment,
  type WidgetBinding,
  WidgetSession,
} from "./widget-session.js";

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

/**
 * The host side of widget to-device messaging: attach it to each widget's `ClientWidgetApi`.
 * It answers `send_to_device` in all three formats and `supported_api_versions`, and routes
 * incoming messages from the transport to every attached widget that may have them.
 */
export class ToDeviceDriver {
  /** Incoming messages to widgets: not for hosts, who read a widget's `attachment.stats`. */
  private readonly router: ToDeviceRouter;
  private readonly sender: ToDeviceSender;
  private readonly answerDeadline: AnswerDeadlineOptions;
  private readonly maxPending: number;
  private readonly limits: Partial<Limits> | undefined;
  private readonly logger: DriverLogger;
  private readonly unsubscribe: () => void;
  private readonly sessions = new Set<WidgetSession>();

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
    const session = new WidgetSession(
      api,
      binding,
      {
        router: this.router,
        handleSend: (data, canSend, contextFor) => this.handle(data, canSend, contextFor),
        answerDeadline: this.answerDeadline,
        maxPendingSends: this.maxPending,
        logger: this.logger,
      },
      (detached) => this.sessions.delete(detached),
    );
    this.sessions.add(session);
    return session;
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
      const result = await this.handle(
        { type: eventType, encrypted, messages: contentMap },
        () => true,
        () => context,
      );
      switch (result.kind) {
        case "delivered":
          if (result.failures === undefined) return;
          throw new ToDeviceDeliveryError(
            "Some devices did not receive the message",
            result.failures,
          );
        case "refused":
          throw new ToDeviceDeliveryError(result.message);
        case "failed":
          throw new ToDeviceDeliveryError(
            `Error sending event: ${result.message}`,
            result.failures,
            result.matrixApiError,
          );
      }
    };
  }

  /**
   * The bytes the driver holds for incoming messages now, over all widgets: the sum of their
   * `attachment.stats.retained.retainedBytes` (pre-negotiation buffers and msgid memory).
   */
  get retainedBytes(): number {
    return this.router.retainedBytes;
  }

  /** Detaches every widget and stops listening to the transport. */
  dispose(): void {
    for (const session of [...this.sessions]) session.detach();
    this.unsubscribe();
  }

  private async handle(
    data: unknown,
    canSend: (type: string) => boolean,
    contextFor: (format: Format) => SendContext,
  ): Promise<SendResult> {
    try {
      const checked = checkSendRequest(data, canSend, this.limits);
      if (checked.kind === "refused") return checked;
      return await this.sender.send(checked.request, contextFor(checked.request.format));
    } catch (error) {
      // Section 8: never a crash, never silence.
      this.logger.error("unexpected failure handling send_to_device", error);
      return { kind: "refused", message: `Error sending event: ${String(error)}` };
    }
  }
}

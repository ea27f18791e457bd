import {
  capabilitySpellings,
  errorReply,
  type Format,
  formatsIn,
  isReservedType,
  partialReply,
  type SendToDeviceReplyWire,
  successReply,
} from "@widget-todevice/codec";
import {
  type ClientWidgetApi,
  type IWidgetApiRequest,
  type IWidgetApiResponseData,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";
import type { AnswerDeadlineOptions } from "./answer-deadline.js";
import { supportedApiVersions } from "./api-versions.js";
import type { DriverLogger } from "./logger.js";
import { RecipientOrder } from "./ordering.js";
import type { DeliveryStats, RoutedWidget, ToDeviceRouter } from "./to-device-router.js";
import type { SendContext, SendResult } from "./to-device-sender.js";

// One attached widget (section 2 to 7 for one `ClientWidgetApi`): the formats it speaks, its
// sends in flight and their lanes, its route for incoming messages, and its replies.

/** The widget's place in the world, as the host knows it. */
export interface WidgetBinding {
  /** The widget's room; `null` for a global (account) widget. */
  readonly roomId: string | null;
  /** Whether that room is encrypted; a function when it can change while the widget runs. */
  readonly roomEncrypted: boolean | (() => boolean);
  /**
   * Set when attaching after the `ClientWidgetApi` emitted `ready`: the driver then asks the
   * widget for its versions at once instead of waiting for `ready`. (matrix-widget-api 1.19 does
   * not say whether a `ClientWidgetApi` is ready: the state is private and only the event tells.)
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

/** Answers one `send_to_device` request's data: checked, then sent (never rejects). */
export type SendRequestHandler = (
  data: unknown,
  canSend: (type: string) => boolean,
  contextFor: (format: Format) => SendContext,
) => Promise<SendResult>;

/** What a session uses of its driver. */
export interface WidgetSessionServices {
  readonly router: ToDeviceRouter;
  readonly handleSend: SendRequestHandler;
  readonly answerDeadline: AnswerDeadlineOptions;
  /** Sends one widget may have in flight; more are refused at once. */
  readonly maxPendingSends: number;
  readonly logger: DriverLogger;
}

export function toGetter(value: boolean | (() => boolean)): () => boolean {
  return typeof value === "function" ? value : () => value;
}

/** The widget API response for a send result (sections 6 and 8), in the codec's reply shapes. */
function responseOf(result: SendResult): SendToDeviceReplyWire {
  switch (result.kind) {
    case "delivered":
      return result.failures === undefined ? successReply() : partialReply(result.failures);
    case "refused":
      return errorReply(result.message);
    case "failed":
      return errorReply(`Error sending event: ${result.message}`, {
        failures: result.failures,
        ...(result.matrixApiError === undefined ? {} : { matrix_api_error: result.matrixApiError }),
      });
  }
}

/** The driver attached to one widget's `ClientWidgetApi`; `ToDeviceDriver.attach` makes it. */
export class WidgetSession implements WidgetAttachment {
  readonly negotiated: Promise<ReadonlyArray<Format>>;
  private formatsKnown: ReadonlyArray<Format> | undefined;
  /** Formats the widget advertised or sent in, before and after negotiation. */
  private readonly advertised = new Set<Format>();
  private pending = 0;
  /** Aborted on detach: no new request starts, no retry waits. */
  private readonly controller = new AbortController();
  /** The widget's lanes: its sends to the same users leave in order (section 6). */
  private readonly order = new RecipientOrder();
  private readonly route: RoutedWidget;
  private readonly isRoomEncrypted: () => boolean;
  private resolveNegotiated!: (formats: ReadonlyArray<Format>) => void;

  constructor(
    private readonly api: ClientWidgetApi,
    private readonly binding: WidgetBinding,
    private readonly services: WidgetSessionServices,
    private readonly onDetach: (session: WidgetSession) => void,
  ) {
    this.isRoomEncrypted = toGetter(binding.roomEncrypted);
    this.negotiated = new Promise((resolve) => {
      this.resolveNegotiated = resolve;
    });
    this.route = services.router.addWidget({
      id: api.widget.id,
      roomId: binding.roomId,
      isRoomEncrypted: this.isRoomEncrypted,
      canReceive: (type) => this.canUse("receive", type),
      // Section 7's fields only; `feedToDevice` would spread the raw event.
      deliver: (message) =>
        api.transport.send(WidgetApiToWidgetAction.SendToDevice, { ...message }),
    });
    api.on("action:supported_api_versions", this.onVersions);
    api.on("action:send_to_device", this.onSend);
    api.on("ready", this.learnFormats);
    if (binding.alreadyReady === true) this.learnFormats();
  }

  get formats(): ReadonlyArray<Format> | undefined {
    return this.formatsKnown;
  }

  get stats(): DeliveryStats {
    return this.route.stats;
  }

  detach(): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort();
    this.api.off("action:supported_api_versions", this.onVersions);
    this.api.off("action:send_to_device", this.onSend);
    this.api.off("ready", this.learnFormats);
    this.route.remove();
    this.onDetach(this);
  }

  private canUse(direction: "send" | "receive", type: string): boolean {
    return (
      !isReservedType(type) &&
      capabilitySpellings(direction, type).some((c) => this.api.hasCapability(c))
    );
  }

  private reply(request: IWidgetApiRequest, response: IWidgetApiResponseData): void {
    try {
      // `reply` spreads the request into the answer: without its `data`, a large or hostile
      // request is not cloned back to the widget (nothing reads it there; requestId matches).
      this.api.transport.reply({ ...request, data: {} }, response);
    } catch (error) {
      this.services.logger.warn(`could not answer widget ${this.api.widget.id}`, error);
    }
  }

  private readonly onVersions = (event: CustomEvent<IWidgetApiRequest>): void => {
    event.preventDefault();
    this.reply(event.detail, { supported_versions: supportedApiVersions() });
  };

  private readonly onSend = (event: CustomEvent<IWidgetApiRequest>): void => {
    event.preventDefault();
    const request = event.detail;
    const limit = this.services.maxPendingSends;
    if (this.pending >= limit) {
      this.reply(
        request,
        errorReply(`Too many to-device sends in progress (limit ${limit}); try again later`),
      );
      return;
    }
    this.pending++;
    this.services
      .handleSend(
        request.data,
        (type) => this.canUse("send", type),
        (format) => this.contextFor(format),
      )
      .then((result) => this.reply(request, responseOf(result)))
      .finally(() => {
        this.pending--;
      });
  };

  /** The send's context, once its request is known to be in `format`. */
  private contextFor(format: Format): SendContext {
    // Sending in a format is as good as advertising it.
    this.advertised.add(format);
    if (this.formatsKnown !== undefined && !this.formatsKnown.includes(format)) {
      this.formatsKnown = [...this.formatsKnown, format];
      this.route.negotiated(this.formatsKnown);
    }
    // Section 6: a widget that speaks a newer format waits as long as the widget package.
    const speaksNewer = [...(this.formatsKnown ?? []), ...this.advertised].some(
      (f) => f !== "legacy",
    );
    const { answerDeadline } = this.services;
    return {
      roomId: this.binding.roomId,
      roomEncrypted: this.isRoomEncrypted,
      widgetType: this.api.widget.type,
      order: this.order,
      signal: this.controller.signal,
      answerDeadlineMs: speaksNewer ? answerDeadline.negotiated : answerDeadline.stock,
    };
  }

  private readonly learnFormats = (): void => {
    this.api
      .getWidgetVersions()
      .then((versions) => {
        if (this.controller.signal.aborted) return;
        // A widget that asks for to-device capabilities speaks legacy at least.
        const formats = [
          ...new Set<Format>(["legacy", ...formatsIn(versions), ...this.advertised]),
        ];
        this.formatsKnown = formats;
        this.route.negotiated(formats);
        this.resolveNegotiated(formats);
      })
      .catch((error: unknown) =>
        this.services.logger.warn(`could not learn widget ${this.api.widget.id}'s versions`, error),
      );
  };
}

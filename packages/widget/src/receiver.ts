import {
  decodeToWidgetMessage,
  formatIssues,
  readScope,
  type ToWidgetMessage,
} from "@widget-todevice/codec";
import type { IWidgetApiResponseData } from "matrix-widget-api";
import type { ContentOf, ContentValidator } from "./content-validator.js";
import { ToDeviceReceiveError } from "./errors.js";
import type { ToDeviceNegotiation } from "./negotiation.js";
import {
  checkOptions,
  checkSubscription,
  DEFAULT_MAX_BUFFERED,
  type MessagesOptions,
  messageStream,
  type ReceivedToDeviceMessage,
  type ReceiveErrorHandler,
  type SubscribeOptions,
  SubscriptionRegistry,
  safely,
  type ToDeviceHandler,
  type Unsubscribe,
} from "./subscription.js";

// Section 7: a `toWidget` `send_to_device`, from the host's request to the subscriptions.

/** The receiving half of a widget: reads the host's requests and hands them to subscriptions. */
export class Receiver {
  private readonly subscriptions = new SubscriptionRegistry();

  constructor(
    private readonly onError: ReceiveErrorHandler,
    private readonly roomId: string | undefined,
    private readonly negotiation: () => ToDeviceNegotiation | undefined,
  ) {}

  subscribe<V extends ContentValidator | undefined>(
    type: string,
    handler: ToDeviceHandler<ContentOf<V>>,
    options: SubscribeOptions<V> | undefined,
  ): Unsubscribe {
    checkSubscription(handler, options);
    return this.subscriptions.add(type, handler, options ?? {});
  }

  messages<V extends ContentValidator | undefined>(
    type: string,
    options: MessagesOptions<V> | undefined,
  ): AsyncIterableIterator<ReceivedToDeviceMessage<ContentOf<V>>> {
    checkOptions(options);
    const { signal, maxBuffered = DEFAULT_MAX_BUFFERED, ...subscription } = options ?? {};
    const onError = subscription.onError ?? this.onError;
    return messageStream<ContentOf<V>>(
      // The stream owns the signal: aborting ends the iterator, which unsubscribes.
      (handler) => this.subscriptions.add(type, handler, subscription as SubscribeOptions<V>),
      signal,
      maxBuffered,
      (dropped) =>
        safely(
          onError,
          new ToDeviceReceiveError(
            `dropped a ${type} message from ${dropped.sender}: the messages() iterator was not read and held ${maxBuffered} already`,
            { reason: "buffer_full", data: dropped, type, sender: dropped.sender },
          ),
        ),
    );
  }

  clear(): void {
    this.subscriptions.clear();
  }

  /**
   * Reads one `send_to_device` request from the host and dispatches it. Returns what the host
   * is owed: `{}` for a message that arrived (whatever a subscription makes of its content), an
   * error for one that is not a section 7 message or came before the negotiation.
   */
  receive(data: unknown): IWidgetApiResponseData {
    // Strips what section 7 does not define: legacy hosts copy the raw event's envelope.
    const decoded = decodeToWidgetMessage(data);
    if (decoded._tag === "Left") {
      const text = formatIssues(decoded.left);
      safely(
        this.onError,
        new ToDeviceReceiveError(`the host sent an invalid to-device message: ${text}`, {
          reason: "invalid_message",
          data,
          issues: decoded.left,
        }),
      );
      // The host's bug, so the host is told, with the paths.
      return { error: { message: `Invalid to-device message: ${text}` } };
    }
    const negotiation = this.negotiation();
    if (negotiation === undefined) {
      // Scoped mode and the sender facts depend on the negotiation: nothing passes before it.
      safely(
        this.onError,
        new ToDeviceReceiveError(
          `dropped ${decoded.right.type} from ${decoded.right.sender}: it arrived before the negotiation finished`,
          {
            reason: "not_negotiated",
            data,
            type: decoded.right.type,
            sender: decoded.right.sender,
          },
        ),
      );
      return { error: { message: "The widget has not finished negotiating capabilities" } };
    }
    const message = vouchedFacts(decoded.right, negotiation);
    // Second line of defence (section 7): in scoped mode only this room's messages pass.
    if (negotiation.scoped && readScope(message.content)?.room_id !== this.roomId) {
      safely(
        this.onError,
        new ToDeviceReceiveError(
          `dropped ${message.type} from ${message.sender}: not scoped to this widget's room`,
          { reason: "out_of_scope", data, type: message.type, sender: message.sender },
        ),
      );
      return {};
    }
    // The message arrived; what a subscription makes of its content is the widget's business.
    this.subscriptions.dispatch(message, this.onError);
    return {};
  }
}

/**
 * Section 7: `sender_device` and `sender_verified` are facts only from a host that vouches for
 * them, one that advertised a format newer than legacy (this project's driver or compatible). A
 * stock host spreads the raw decrypted event, so there they are whatever the sender wrote.
 */
function vouchedFacts(message: ToWidgetMessage, negotiation: ToDeviceNegotiation): ToWidgetMessage {
  if (negotiation.hostFormats.some((format) => format !== "legacy")) return message;
  const { sender_device: _device, sender_verified: _verified, ...unvouched } = message;
  return unvouched;
}

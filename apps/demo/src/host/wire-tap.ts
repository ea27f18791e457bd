import type { JsonObject } from "@widget-todevice/codec";
import type {
  DeliveryStats,
  DeviceAddress,
  DeviceListOptions,
  DeviceMessage,
  DropReason,
  EncryptedBatch,
  ReceivedToDeviceMessage,
  ToDeviceTransport,
  WidgetAttachment,
} from "@widget-todevice/driver";
import { SendToDeviceError } from "@widget-todevice/driver";
import type { Inspector } from "./inspector.js";

// Puts the inspector on a client's to-device transport: every /sendToDevice request the driver
// makes, and for every incoming message, which of this client's widgets got it and which were
// spared it and why (the driver's section 7 filters).

const DROP_WORDS: Record<DropReason, string> = {
  malformed: "malformed message",
  reserved_type: "reserved type: never given to a widget",
  no_capability: "the widget holds no receive capability for this type",
  cleartext_in_encrypted_room: "cleartext, and the widget sits in an encrypted room",
  untrusted_sender: "the sending device is not cross-signed",
  other_room: "the widget is in scoped mode and the message is not scoped to its room",
  duplicate: "already delivered (same org.matrix.msgid)",
  not_negotiated: "arrived before the widget finished negotiating",
};

export interface TappedWidget {
  readonly label: string;
  readonly attachment: WidgetAttachment;
}

export class TappedTransport implements ToDeviceTransport {
  /** This client's attached widgets, for the routing report. */
  readonly widgets = new Set<TappedWidget>();

  constructor(
    private readonly inner: ToDeviceTransport,
    private readonly inspector: Inspector,
    private readonly who: string,
  ) {}

  getUserDevices(
    userIds: ReadonlyArray<string>,
    options: DeviceListOptions,
  ): Promise<ReadonlyMap<string, ReadonlyArray<string>>> {
    return this.inner.getUserDevices(userIds, options);
  }

  encryptToDeviceMessages(
    eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<EncryptedBatch> {
    return this.inner.encryptToDeviceMessages(eventType, devices, content);
  }

  async sendToDevice(
    eventType: string,
    messages: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void> {
    const body: Record<string, Record<string, JsonObject>> = {};
    for (const { userId, deviceId, content } of messages) {
      body[userId] ??= {};
      Object.defineProperty(body[userId], deviceId, { value: content, enumerable: true });
    }
    const line = `PUT /_matrix/client/v3/sendToDevice/${eventType}/${txnId}`;
    const started = performance.now();
    try {
      await this.inner.sendToDevice(eventType, messages, txnId);
      this.inspector.record({
        kind: "to-device",
        direction: "host → homeserver",
        who: this.who,
        title: line,
        json: { messages: body },
        tone: "ok",
        note: `200 OK after ${Math.round(performance.now() - started)} ms: ${messages.length} device message${messages.length === 1 ? "" : "s"}`,
      });
    } catch (error) {
      const status =
        error instanceof SendToDeviceError
          ? error.httpStatus === undefined
            ? "no answer (network)"
            : `${error.httpStatus} ${error.errcode ?? ""}`
          : String(error);
      this.inspector.record({
        kind: "to-device",
        direction: "host → homeserver",
        who: this.who,
        title: line,
        json: { messages: body },
        tone: "error",
        note: `${status}: ${error instanceof Error ? error.message : ""} (the driver retries within its bounds, with the same transaction ID)`,
      });
      throw error;
    }
  }

  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void {
    return this.inner.onToDeviceMessage((received) => {
      const before = new Map<TappedWidget, DeliveryStats>();
      for (const widget of this.widgets) before.set(widget, widget.attachment.stats);
      listener(received);
      this.report(received, before);
    });
  }

  private report(
    received: ReceivedToDeviceMessage,
    before: ReadonlyMap<TappedWidget, DeliveryStats>,
  ): void {
    const outcomes: string[] = [];
    let dropped = false;
    for (const [widget, stats] of before) {
      const after = widget.attachment.stats;
      if (after.delivered > stats.delivered) {
        outcomes.push(`${widget.label}: delivered`);
        continue;
      }
      const reason = (Object.keys(after.dropped) as DropReason[]).find(
        (r) => after.dropped[r] > stats.dropped[r],
      );
      if (reason !== undefined) {
        dropped = true;
        outcomes.push(`${widget.label}: dropped (${reason}: ${DROP_WORDS[reason]})`);
      } else {
        outcomes.push(`${widget.label}: waiting for the widget to negotiate`);
      }
    }
    const { message, encryptionInfo } = received;
    this.inspector.record({
      kind: "routing",
      direction: "homeserver → host",
      who: this.who,
      title: `${message.type} from ${message.sender}${encryptionInfo?.senderDevice === undefined ? "" : ` / ${encryptionInfo.senderDevice}`} (${encryptionInfo === null ? "cleartext" : "decrypted"})`,
      json: { event: message, encryptionInfo },
      tone: dropped ? "note" : "plain",
      note: outcomes.length === 0 ? "no widget open on this client" : outcomes.join("; "),
    });
  }
}

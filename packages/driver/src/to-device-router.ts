import {
  encodeToWidgetMessage,
  type Format,
  isReservedType,
  isScopedTo,
  type JsonObject,
  type ToWidgetMessage,
} from "@widget-todevice/codec";
import { DuplicateFilter, MAX_MSGID_LENGTH } from "./duplicate-filter.js";
import { consoleLogger, type DriverLogger } from "./logger.js";
import {
  DEFAULT_PRE_NEGOTIATION,
  PreNegotiationBuffer,
  type PreNegotiationOptions,
} from "./pre-negotiation-buffer.js";
import type { ReceivedToDeviceMessage, ToDeviceTransport } from "./transport.js";

export { DEFAULT_PRE_NEGOTIATION, type PreNegotiationOptions };

// Section 7: which attached widget receives an incoming to-device message, and with which fields.

/** Whose devices a widget accepts messages from. */
export type IncomingTrust =
  /** Any sender, encrypted or (where the room rules allow) cleartext. */
  | "any-device"
  /** Only encrypted messages from devices cross-signed by a user this account verified. */
  | "cross-signed-only";

/** Why a message did not reach a widget; in filter order (section 7). */
export type DropReason =
  | "malformed"
  | "reserved_type"
  | "no_capability"
  | "cleartext_in_encrypted_room"
  | "untrusted_sender"
  | "other_room"
  | "duplicate"
  | "not_negotiated";

/** The memory a widget's route holds now, as its bounds count it (docs/protocol.md §7). */
export interface RetainedMemory {
  /** Messages waiting for negotiation. */
  readonly bufferedMessages: number;
  /** Their bytes: UTF-8 JSON of each one's type, sender and content. At most `preNegotiation.maxBytes`. */
  readonly bufferedBytes: number;
  /** Remembered `org.matrix.msgid`s. */
  readonly dedupEntries: number;
  /** What they cost: a fixed 96 bytes each, whatever the msgid's length. At most `dedupMaxBytes`. */
  readonly dedupBytes: number;
  /** `bufferedBytes + dedupBytes`. */
  readonly retainedBytes: number;
}

export interface DeliveryStats {
  readonly delivered: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly retained: RetainedMemory;
}

/** What the router needs to know about one widget. */
export interface RouterWidget {
  /** For logs. */
  readonly id: string;
  /** `null` for a global widget. */
  readonly roomId: string | null;
  isRoomEncrypted(): boolean;
  /** Whether the widget holds the receive capability for `type` (either spelling). */
  canReceive(type: string): boolean;
  /** Posts the message to the widget. */
  deliver(message: ToWidgetMessage): Promise<unknown>;
}

/** A widget's place in the router. */
export interface RoutedWidget {
  /**
   * Capabilities are negotiated and the widget's formats known: buffered messages are delivered
   * (in arrival order, through every filter) and later ones go straight through.
   */
  negotiated(formats: ReadonlyArray<Format>): void;
  readonly stats: DeliveryStats;
  /** Stops delivery; buffered messages are counted as dropped. */
  remove(): void;
}

/**
 * Bytes of de-duplication memory per widget: 256 KiB remember the last 2,730 msgids (96 bytes
 * each, whatever their length), minutes of a busy call's key traffic.
 */
export const DEFAULT_DEDUP_MAX_BYTES = 262_144;

export interface ToDeviceRouterOptions {
  readonly incomingTrust?: IncomingTrust;
  readonly preNegotiation?: Partial<PreNegotiationOptions>;
  /** Bytes of `org.matrix.msgid` memory per widget; the oldest are forgotten first. */
  readonly dedupMaxBytes?: number;
  readonly logger?: DriverLogger;
}

const MSGID = "org.matrix.msgid";

function emptyDrops(): Record<DropReason, number> {
  return {
    malformed: 0,
    reserved_type: 0,
    no_capability: 0,
    cleartext_in_encrypted_room: 0,
    untrusted_sender: 0,
    other_room: 0,
    duplicate: 0,
    not_negotiated: 0,
  };
}

class WidgetRoute implements RoutedWidget {
  formats: ReadonlyArray<Format> | undefined;
  private readonly buffer: PreNegotiationBuffer;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private readonly seen: DuplicateFilter;
  private delivered = 0;
  private readonly dropped = emptyDrops();
  removed = false;

  constructor(
    readonly widget: RouterWidget,
    private readonly router: ToDeviceRouter,
    private readonly settings: Required<
      Pick<ToDeviceRouterOptions, "incomingTrust" | "dedupMaxBytes" | "logger">
    > & {
      readonly preNegotiation: PreNegotiationOptions;
    },
  ) {
    this.buffer = new PreNegotiationBuffer(settings.preNegotiation);
    this.seen = new DuplicateFilter(settings.dedupMaxBytes);
  }

  get stats(): DeliveryStats {
    return { delivered: this.delivered, dropped: { ...this.dropped }, retained: this.retained };
  }

  get retained(): RetainedMemory {
    const bufferedBytes = this.buffer.bytes;
    const dedupBytes = this.seen.bytes;
    return {
      bufferedMessages: this.buffer.size,
      bufferedBytes,
      dedupEntries: this.seen.entries,
      dedupBytes,
      retainedBytes: bufferedBytes + dedupBytes,
    };
  }

  negotiated(formats: ReadonlyArray<Format>): void {
    if (this.removed) return;
    this.formats = formats;
    this.clearExpiry();
    for (const received of this.buffer.take()) this.route(received);
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.clearExpiry();
    this.dropWaiting(this.buffer.take().length, "the widget was detached");
    this.seen.forget();
    this.router.forget(this);
  }

  /** Filters of section 7, in order, then delivery. */
  route(received: ReceivedToDeviceMessage): void {
    const verdict = this.verdict(received);
    if (verdict === "hold") this.hold(received);
    else if (verdict === "deliver") this.deliver(received);
    else this.drop(verdict);
  }

  private verdict(received: ReceivedToDeviceMessage): DropReason | "hold" | "deliver" {
    const { message, encryptionInfo } = received;
    if (isReservedType(message.type)) return "reserved_type";
    if (this.formats === undefined) return "hold";
    if (!this.widget.canReceive(message.type)) return "no_capability";
    if (encryptionInfo === null && this.widget.isRoomEncrypted())
      return "cleartext_in_encrypted_room";
    if (
      this.settings.incomingTrust === "cross-signed-only" &&
      encryptionInfo?.senderVerified !== true
    ) {
      return "untrusted_sender";
    }
    // Section 7: in scoped mode only content stamped for this room, with a well-formed scope.
    const scopedRoom = this.scopedRoom();
    if (scopedRoom !== undefined && !isScopedTo(message.content, scopedRoom)) return "other_room";
    const key = this.router.duplicateKey(received);
    if (key !== undefined && this.seen.isDuplicate(key)) return "duplicate";
    return "deliver";
  }

  private deliver({ message, encryptionInfo }: ReceivedToDeviceMessage): void {
    const formats = this.formats ?? [];
    const speaksNewer = formats.includes("recipients") || formats.includes("scoped");
    const data = encodeToWidgetMessage({
      type: message.type,
      sender: message.sender,
      // Computed from how it was received; a value on the wire is never copied (section 7).
      encrypted: encryptionInfo !== null,
      content: message.content as JsonObject,
      // Authenticated facts from decryption, never from the message.
      ...(encryptionInfo !== null && speaksNewer && encryptionInfo.senderDevice !== undefined
        ? {
            sender_device: encryptionInfo.senderDevice,
            sender_verified: encryptionInfo.senderVerified,
          }
        : {}),
    });
    this.delivered++;
    this.widget.deliver(data).catch((error: unknown) => {
      this.settings.logger.warn(
        `widget ${this.widget.id} did not accept a to-device message`,
        error,
      );
    });
  }

  /** The widget's room when it is in scoped mode: bound to a room and speaking `scoped`. */
  private scopedRoom(): string | undefined {
    const { roomId } = this.widget;
    return roomId !== null && this.formats?.includes("scoped") === true ? roomId : undefined;
  }

  drop(reason: DropReason): void {
    this.dropped[reason]++;
  }

  /**
   * Section 7: before negotiation, messages wait a bounded time in a buffer bounded in messages
   * and bytes, where one sender can push out only its own messages.
   */
  private hold(received: ReceivedToDeviceMessage): void {
    for (const drop of this.buffer.hold(received, Date.now()))
      this.dropWaiting(drop.count, drop.why);
    this.scheduleExpiry();
  }

  private scheduleExpiry(): void {
    const oldest = this.buffer.oldestAt;
    if (this.expiry !== undefined || oldest === undefined) return;
    const { maxAgeMs } = this.settings.preNegotiation;
    const due = Math.max(0, oldest + maxAgeMs - Date.now());
    this.expiry = setTimeout(() => {
      this.expiry = undefined;
      const expired = this.buffer.expire(Date.now() - maxAgeMs);
      this.dropWaiting(expired, `no negotiation within ${maxAgeMs} ms`);
      this.scheduleExpiry();
    }, due);
  }

  private clearExpiry(): void {
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    this.expiry = undefined;
  }

  private dropWaiting(count: number, why: string): void {
    if (count <= 0) return;
    this.dropped.not_negotiated += count;
    this.settings.logger.warn(
      `widget ${this.widget.id}: dropped ${count} to-device message(s) that arrived before its capabilities were negotiated (${why})`,
    );
  }
}

/**
 * Delivers incoming to-device messages to every attached widget that may have them (section 7).
 * Feed it with `receive`, or `connect` it to a transport.
 */
export class ToDeviceRouter {
  private readonly routes = new Set<WidgetRoute>();
  /** De-duplication keys, computed once per message however many widgets it reaches. */
  private readonly duplicateKeys = new WeakMap<ReceivedToDeviceMessage, string | null>();
  private readonly settings: ConstructorParameters<typeof WidgetRoute>[2];
  private malformed = 0;

  constructor(options: ToDeviceRouterOptions = {}) {
    this.settings = {
      incomingTrust: options.incomingTrust ?? "any-device",
      dedupMaxBytes: options.dedupMaxBytes ?? DEFAULT_DEDUP_MAX_BYTES,
      logger: options.logger ?? consoleLogger,
      preNegotiation: { ...DEFAULT_PRE_NEGOTIATION, ...options.preNegotiation },
    };
  }

  /** Adds a widget; messages wait for `negotiated` (see `PreNegotiationOptions`). */
  addWidget(widget: RouterWidget): RoutedWidget {
    const route = new WidgetRoute(widget, this, this.settings);
    this.routes.add(route);
    return route;
  }

  /** Routes one incoming message to every widget. Never throws. */
  receive(received: ReceivedToDeviceMessage): void {
    const { message, encryptionInfo } = received ?? {};
    const wellFormed =
      message !== undefined &&
      typeof message.type === "string" &&
      typeof message.sender === "string" &&
      typeof message.content === "object" &&
      message.content !== null &&
      !Array.isArray(message.content) &&
      // The authenticated sender must be the one the homeserver named.
      (encryptionInfo === null || encryptionInfo?.sender === message.sender);
    if (!wellFormed) {
      this.malformed++;
      for (const route of this.routes) route.drop("malformed");
      return;
    }
    for (const route of this.routes) {
      try {
        route.route(received);
      } catch (error) {
        this.settings.logger.error(
          `routing a to-device message to widget ${route.widget.id} failed`,
          error,
        );
      }
    }
  }

  /** Subscribes to a transport's incoming messages; returns the unsubscribe function. */
  connect(transport: Pick<ToDeviceTransport, "onToDeviceMessage">): () => void {
    return transport.onToDeviceMessage((received) => this.receive(received));
  }

  /** The bytes every widget's route retains: the sum of their `stats.retained.retainedBytes`. */
  get retainedBytes(): number {
    let bytes = 0;
    for (const route of this.routes) bytes += route.retained.retainedBytes;
    return bytes;
  }

  /** Malformed messages seen (not addressed to any widget in particular). */
  get malformedCount(): number {
    return this.malformed;
  }

  /** @internal The message's de-duplication key; `undefined` when it carries no msgid. */
  duplicateKey(received: ReceivedToDeviceMessage): string | undefined {
    let key = this.duplicateKeys.get(received);
    if (key === undefined) {
      const { sender, type, content } = received.message;
      const msgid = (content as JsonObject)[MSGID];
      key =
        typeof msgid === "string" && msgid.length <= MAX_MSGID_LENGTH
          ? DuplicateFilter.keyOf(sender, type, msgid)
          : null;
      this.duplicateKeys.set(received, key);
    }
    return key ?? undefined;
  }

  /** @internal */
  forget(route: WidgetRoute): void {
    this.routes.delete(route);
  }
}

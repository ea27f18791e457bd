import { formatsIn } from "@widget-todevice/codec";
import { widgetSupportedVersions } from "@widget-todevice/widget";
import {
  createRoomWidgetClient,
  EventType,
  type ICapabilities,
  type MatrixClient,
  MemoryStore,
} from "matrix-js-sdk";
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import { KeyTransportEvents } from "matrix-js-sdk/lib/matrixrtc/IKeyTransport.js";
import { ToDeviceKeyTransport } from "matrix-js-sdk/lib/matrixrtc/ToDeviceKeyTransport.js";
import type { Statistics } from "matrix-js-sdk/lib/matrixrtc/types.js";
import { type IWidgetApiRequest, WidgetApi, WidgetApiToWidgetAction } from "matrix-widget-api";

// A call's media keys as Element Call exchanges them inside a widget: matrix-js-sdk's embedded
// client (`RoomWidgetClient`) on this page's WidgetApi, and MatrixRTC's to-device key transport
// (`ToDeviceKeyTransport`) on that client, which sends each key with `encryptAndSendToDevice`
// (the legacy per-device map, `encrypted: true`). No DOM here: main.ts shows what this holds.

/** `io.element.call.encryption_keys`: what the key transport sends and listens for. */
export const CALL_KEYS: string = EventType.CallEncryptionKeysPrefix;

/**
 * To-device in both directions and nothing else. Element Call also asks for room state (its
 * `m.rtc.member` events); with any `receiveState` capability `startClient()` waits for the
 * host's first `update_state`, and this demo's hosts serve no room state (embedded mode has no
 * rooms to serve), so the call's members come from the widget's data instead.
 */
const CAPABILITIES: ICapabilities = { sendToDevice: [CALL_KEYS], receiveToDevice: [CALL_KEYS] };

/**
 * Advertised on top of the stock versions: `recipient_devices` makes a host that speaks it vouch
 * for the sender's device and verification (docs/protocol.md §7). Not `scoped`: the key transport
 * sends unscoped legacy maps, which a widget in scoped mode would never receive.
 */
const ADVERTISED = widgetSupportedVersions(["legacy", "recipients"]);

export interface Member {
  readonly userId: string;
  readonly deviceId: string;
}

/** One key as it arrived, with what the host vouched for about its sender. */
export interface ReceivedKey {
  readonly index: number;
  readonly key: string;
  /** The device the key's content claims (`member.claimed_device_id`): the key transport's word. */
  readonly claimedDevice: string;
  /** The sender's device from the host's decryption, when the host vouches for it (§7). */
  readonly senderDevice?: string;
  readonly senderVerified?: boolean;
  readonly encrypted: boolean;
}

export interface Participant extends Member {
  /**
   * Whether the device is a member of the call (the widget's `members`): only members are sent
   * our key. Anyone else who sends us a key is shown, never answered: sending a key to a device
   * must not be enough to be given ours.
   */
  readonly member: boolean;
  /** Our keys handed to the key transport for this device: index of the latest, and how many. */
  sentIndex?: number;
  sentCount: number;
  /** This participant's latest key, and how many arrived. */
  latest?: ReceivedKey;
  receivedCount: number;
}

export interface CallSessionOptions {
  readonly widgetId: string | null;
  readonly parentOrigin: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  readonly baseUrl: string;
  /** Everyone in the call, this device included. */
  readonly members: ReadonlyArray<Member>;
  readonly onChange: () => void;
  readonly onNote: (text: string) => void;
}

/** matrix-js-sdk logs a great deal; warnings and errors only. */
const quiet: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => console.warn(...args),
  error: (...args: unknown[]) => console.error(...args),
  getChild: () => quiet,
};

const memberKey = (userId: string, deviceId: string) => JSON.stringify([userId, deviceId]);

/** A fresh 16-byte media key, base64 as Element Call sends it. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** One key as the key transport reported it, with the host's facts about its message. */
interface Arrival {
  readonly userId: string;
  /** `member.claimed_device_id` of the content. */
  readonly claimedDevice: string;
  /** `member.id` of the content: one per participant's widget session. */
  readonly memberId: string;
  readonly key: string;
  readonly index: number;
  readonly delivery: Delivery;
}

/** What the host said about one incoming key message, before the key transport read it. */
interface Delivery {
  readonly encrypted: boolean;
  readonly senderDevice?: string;
  readonly senderVerified?: boolean;
}

export class CallSession {
  readonly userId: string;
  readonly deviceId: string;
  readonly participants = new Map<string, Participant>();
  readonly statistics: Statistics = {
    counters: { roomEventEncryptionKeysSent: 0, roomEventEncryptionKeysReceived: 0 },
    totals: { roomEventEncryptionKeysReceivedTotalAge: 0 },
  };
  own = { index: 0, key: newKey() };
  /** Whether the host advertised a format newer than legacy, so vouches for sender devices. */
  hostVouches = false;
  private vouching: Promise<boolean> | undefined;
  readonly started: Promise<void>;

  private readonly api: WidgetApi;
  private readonly client: MatrixClient;
  private readonly transport: ToDeviceKeyTransport;
  /** Call member IDs (one per widget session) we have heard a key from. */
  private readonly heardFrom = new Set<string>();
  /** The host's facts per incoming key message, until the key transport reports the key. */
  private readonly deliveries = new Map<string, Delivery>();

  constructor(private readonly options: CallSessionOptions) {
    this.userId = options.userId;
    this.deviceId = options.deviceId;
    for (const { userId, deviceId } of options.members) {
      this.participants.set(memberKey(userId, deviceId), {
        userId,
        deviceId,
        member: true,
        sentCount: 0,
        receivedCount: 0,
      });
    }

    this.api = new WidgetApi(options.widgetId, options.parentOrigin);
    // Both before RoomWidgetClient starts the API: the host asks for our versions right away,
    // and the raw message must be seen before the client turns it into a MatrixEvent.
    this.api.on(
      `action:${WidgetApiToWidgetAction.SupportedApiVersions}`,
      (event: CustomEvent<IWidgetApiRequest>) => {
        event.preventDefault();
        this.api.transport.reply(event.detail, { supported_versions: [...ADVERTISED] });
      },
    );
    this.api.on(
      `action:${WidgetApiToWidgetAction.SendToDevice}`,
      (event: CustomEvent<IWidgetApiRequest>) => this.noteDelivery(event.detail.data),
    );

    // The host loads the widget with waitForIframeLoad, so no content_loaded (last argument).
    this.client = createRoomWidgetClient(
      this.api,
      CAPABILITIES,
      options.roomId,
      {
        baseUrl: options.baseUrl,
        userId: this.userId,
        deviceId: this.deviceId,
        logger: quiet,
        // Without a store the SDK makes one on `globalThis.localStorage`, which throws in a
        // cross-site frame whose browser blocks third-party storage (Chromium here).
        store: new MemoryStore(),
      },
      false,
    );
    // One member ID per page load, so that a participant who reloads counts as new (below).
    const memberId = `${this.userId}:${this.deviceId}:${newKey().slice(0, 8)}`;
    this.transport = new ToDeviceKeyTransport(
      { userId: this.userId, deviceId: this.deviceId, memberId },
      options.roomId,
      this.client,
      this.statistics,
      quiet,
    );
    this.transport.on(KeyTransportEvents.ReceivedKeys, (membership, key, index) =>
      this.received(membership.userId, membership.deviceId, membership.memberId, key, index),
    );
    this.transport.start();
    this.started = this.start();
  }

  private async start(): Promise<void> {
    await this.client.startClient();
    await this.hostVouchesForSenders();
    this.options.onChange();
    // Joining: everyone gets our key; whoever joins later hears it when they send theirs (below).
    await this.sendOwnKey(this.others());
  }

  /** The host's versions, asked once (matrix-widget-api caches them): §2, §7. */
  private hostVouchesForSenders(): Promise<boolean> {
    this.vouching ??= this.api.getClientVersions().then((versions) => {
      this.hostVouches = formatsIn(versions).some((format) => format !== "legacy");
      return this.hostVouches;
    });
    return this.vouching;
  }

  /** A new key with the next index, to everyone in the call (what a call does when someone leaves). */
  async rotate(): Promise<void> {
    this.own = { index: (this.own.index + 1) % 256, key: newKey() };
    this.options.onChange();
    await this.sendOwnKey(this.others());
  }

  /** The call's members but this device: whom our key goes to. */
  private others(): Participant[] {
    return [...this.participants.values()].filter(
      (p) => p.member && (p.userId !== this.userId || p.deviceId !== this.deviceId),
    );
  }

  private participant(userId: string, deviceId: string): Participant {
    const key = memberKey(userId, deviceId);
    let participant = this.participants.get(key);
    if (participant === undefined) {
      participant = { userId, deviceId, member: false, sentCount: 0, receivedCount: 0 };
      this.participants.set(key, participant);
    }
    return participant;
  }

  private async sendOwnKey(targets: ReadonlyArray<Participant>): Promise<void> {
    if (targets.length === 0) return;
    const { index, key } = this.own;
    const members = targets.map(({ userId, deviceId }) => ({ userId, deviceId, membershipTs: 0 }));
    // The key transport swallows send failures (it counts the key as sent whatever the host
    // answered): the host's answer is in the inspector, not here.
    await this.transport.sendKey(key, index, members);
    for (const target of targets) {
      target.sentIndex = index;
      target.sentCount++;
    }
    this.options.onChange();
  }

  /** The raw `send_to_device` from the host: keep what it vouches for until the key is read. */
  private noteDelivery(data: unknown): void {
    if (typeof data !== "object" || data === null) return;
    const message = data as {
      type?: unknown;
      sender?: unknown;
      encrypted?: unknown;
      content?: { keys?: { key?: unknown; index?: unknown } };
      sender_device?: unknown;
      sender_verified?: unknown;
    };
    if (message.type !== CALL_KEYS || typeof message.sender !== "string") return;
    const keys = message.content?.keys;
    // Bounded: a message the key transport rejects (malformed) is never read; the oldest goes.
    if (this.deliveries.size >= 100) {
      const oldest = this.deliveries.keys().next().value;
      if (oldest !== undefined) this.deliveries.delete(oldest);
    }
    this.deliveries.set(JSON.stringify([message.sender, keys?.key, keys?.index]), {
      encrypted: message.encrypted === true,
      ...(typeof message.sender_device === "string" ? { senderDevice: message.sender_device } : {}),
      ...(typeof message.sender_verified === "boolean"
        ? { senderVerified: message.sender_verified }
        : {}),
    });
  }

  private received(
    userId: string,
    claimedDevice: string,
    memberId: string,
    key: string,
    index: number,
  ): void {
    const lookup = JSON.stringify([userId, key, index]);
    const delivery = this.deliveries.get(lookup) ?? { encrypted: false };
    this.deliveries.delete(lookup);
    // A key can arrive before start-up asked for the host's versions: read it once they are known.
    const arrival = { userId, claimedDevice, memberId, key, index, delivery };
    void this.hostVouchesForSenders().then(
      (vouches) => this.record(arrival, vouches),
      (error: unknown) =>
        this.options.onNote(`could not ask the host for its versions: ${String(error)}`),
    );
  }

  private record(arrival: Arrival, vouches: boolean): void {
    const { userId, claimedDevice, memberId, key, index, delivery } = arrival;
    // A stock host spreads the decrypted event, so its `sender_device` is whatever the sender
    // wrote: taken only from a host that vouches for it (docs/protocol.md §7).
    const senderDevice = vouches ? delivery.senderDevice : undefined;
    const participant = this.participant(userId, senderDevice ?? claimedDevice);
    participant.receivedCount++;
    participant.latest = {
      index,
      key,
      claimedDevice,
      encrypted: delivery.encrypted,
      ...(senderDevice === undefined ? {} : { senderDevice }),
      ...(vouches && delivery.senderVerified !== undefined
        ? { senderVerified: delivery.senderVerified }
        : {}),
    };
    if (senderDevice !== undefined && senderDevice !== claimedDevice) {
      this.options.onNote(
        `${userId}: the key claims device ${claimedDevice}, the host decrypted it from ${senderDevice}`,
      );
    }
    this.options.onChange();
    // A call member we never heard from joined after our key went out (or reloaded): send it ours.
    if (participant.member && !this.heardFrom.has(memberId)) {
      this.heardFrom.add(memberId);
      void this.sendOwnKey([participant]);
    }
  }
}

import type { JsonObject } from "@widget-todevice/codec";
import { open, type SimulatedDeviceKeys, seal } from "./olm-envelope.js";
import type {
  DeviceAddress,
  DeviceListOptions,
  DeviceMessage,
  EncryptedBatch,
  EncryptionFailure,
  ReceivedToDeviceEvent,
  ReceivedToDeviceMessage,
  ToDeviceTransport,
} from "./transport.js";

/** Which of a recipient's devices get encrypted messages (section 5's outgoing trust). */
export type OutgoingTrust = "all-devices" | "verified-only";

/** What an `InMemoryTransport` needs from its homeserver. @internal */
export interface HomeserverLink {
  device(userId: string, deviceId: string): SimulatedDevice | undefined;
  deviceByCurveKey(curve25519: string): SimulatedDevice | undefined;
  deviceIds(userId: string): ReadonlyArray<string>;
  keyQueryDelayMs(): number;
  sendToDevice(
    from: DeviceAddress,
    eventType: string,
    messages: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void>;
}

/** @internal */
export interface SimulatedDevice extends SimulatedDeviceKeys {
  verified: boolean;
  hasOneTimeKeys: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One simulated device's connection to an `InMemoryHomeserver`: a complete `ToDeviceTransport`
 * for tests and demos, in Node or a browser. Create it with `InMemoryHomeserver.addDevice`.
 */
export class InMemoryTransport implements ToDeviceTransport {
  /** Every message this device received, decrypted, in arrival order. */
  readonly received: ReceivedToDeviceMessage[] = [];
  /** Section 5: the host's outgoing-trust setting, passed to the encryption layer. */
  outgoingTrust: OutgoingTrust = "all-devices";
  /** Messages that arrived but could not be decrypted (not for this device, or forged). */
  undecryptable = 0;
  private readonly listeners = new Set<(received: ReceivedToDeviceMessage) => void>();
  private readonly tracked = new Set<string>();
  private readonly sessions = new Set<string>();
  private readonly blocked = new Set<string>();

  /** @internal Use `InMemoryHomeserver.addDevice`. */
  constructor(
    private readonly keys: SimulatedDeviceKeys,
    private readonly link: HomeserverLink,
  ) {}

  get userId(): string {
    return this.keys.userId;
  }

  get deviceId(): string {
    return this.keys.deviceId;
  }

  /** Never encrypt for this device (the encryption layer reports it as `withheld`). */
  blockDevice(userId: string, deviceId: string): void {
    this.blocked.add(`${userId}\n${deviceId}`);
  }

  async getUserDevices(
    userIds: ReadonlyArray<string>,
    options: DeviceListOptions,
  ): Promise<ReadonlyMap<string, ReadonlyArray<string>>> {
    const untracked = userIds.filter((userId) => !this.tracked.has(userId));
    if (options.downloadUncached && untracked.length > 0) {
      // A key query: the homeserver's answer is current, devices added later included.
      const delay = this.link.keyQueryDelayMs();
      if (delay > 0) await sleep(delay);
      for (const userId of untracked) this.tracked.add(userId);
    }
    await Promise.resolve();
    const lists = new Map<string, ReadonlyArray<string>>();
    // Tracked users' lists stay current, as device-list updates arrive through sync.
    for (const userId of userIds)
      if (this.tracked.has(userId)) lists.set(userId, [...this.link.deviceIds(userId)]);
    return lists;
  }

  async encryptToDeviceMessages(
    eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<EncryptedBatch> {
    await Promise.resolve();
    const self = this.link.device(this.userId, this.deviceId);
    const messages: DeviceMessage[] = [];
    const failures: EncryptionFailure[] = [];
    for (const { userId, deviceId } of devices) {
      const device = this.link.device(userId, deviceId);
      const key = `${userId}\n${deviceId}`;
      if (device === undefined || self === undefined) {
        failures.push({ userId, deviceId, reason: "unknown_device" });
      } else if (
        this.blocked.has(key) ||
        (this.outgoingTrust === "verified-only" && !device.verified)
      ) {
        failures.push({ userId, deviceId, reason: "withheld" });
      } else if (!this.sessions.has(key) && !device.hasOneTimeKeys) {
        failures.push({ userId, deviceId, reason: "no_olm_session" });
      } else {
        this.sessions.add(key);
        messages.push({ userId, deviceId, content: seal(self, device, eventType, content) });
      }
    }
    return { eventType: "m.room.encrypted", messages, failures };
  }

  sendToDevice(
    eventType: string,
    messages: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void> {
    return this.link.sendToDevice(
      { userId: this.userId, deviceId: this.deviceId },
      eventType,
      messages,
      txnId,
    );
  }

  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** @internal The homeserver delivers one event, as `/sync` would. */
  deliver(event: {
    readonly type: string;
    readonly sender: string;
    readonly content: JsonObject;
  }): void {
    const received =
      event.type === "m.room.encrypted"
        ? this.decrypt(event)
        : { message: event, encryptionInfo: null };
    if (received === undefined) {
      this.undecryptable++;
      return;
    }
    this.received.push(received);
    for (const listener of [...this.listeners]) {
      try {
        listener(received);
      } catch (error) {
        console.error("[InMemoryTransport] a to-device listener threw", error);
      }
    }
  }

  /**
   * Like a real client, the decrypted event keeps the Olm plaintext's envelope fields (`keys`,
   * `recipient`, ...): a driver must not pass them on (section 7).
   */
  private decrypt(event: {
    readonly sender: string;
    readonly content: JsonObject;
  }): ReceivedToDeviceMessage | undefined {
    const opened = open(this.keys, event.content);
    if (opened === undefined) return undefined;
    const { senderKey, plaintext } = opened;
    const from = this.link.deviceByCurveKey(senderKey);
    // The Olm session authenticates the sender: the homeserver's `sender` must agree with it.
    if (from === undefined || from.userId !== event.sender || plaintext.sender !== event.sender)
      return undefined;
    if (
      plaintext.recipient !== this.userId ||
      plaintext.recipient_keys?.ed25519 !== this.keys.ed25519
    )
      return undefined;
    const message: ReceivedToDeviceEvent = {
      type: plaintext.type,
      sender: event.sender,
      content: plaintext.content,
      keys: plaintext.keys,
      recipient: plaintext.recipient,
      recipient_keys: plaintext.recipient_keys,
      sender_device_keys: plaintext.sender_device_keys,
    };
    return {
      message,
      encryptionInfo: {
        sender: from.userId,
        senderDevice: from.deviceId,
        senderVerified: from.verified,
      },
    };
  }
}

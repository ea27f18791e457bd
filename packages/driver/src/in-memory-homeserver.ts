import { ALL_DEVICES, type JsonObject } from "@widget-todevice/codec";
import {
  type HomeserverLink,
  InMemoryTransport,
  type SimulatedDevice,
} from "./in-memory-transport.js";
import { utf8Length } from "./message-size.js";
import { randomKey } from "./olm-envelope.js";
import { type DeviceAddress, type DeviceMessage, SendToDeviceError } from "./transport.js";

/** Counted as the homeserver counts: the UTF-8 bytes of the JSON it received. */
const serialisedBytes = (value: unknown): number => utf8Length(JSON.stringify(value));

// A homeserver in one process or page, with the to-device semantics measured on Synapse:
// `*` fan-out, per-device order, silent drop of unknown device IDs, 413 for the whole request
// when one message exceeds 65,536 bytes, and transaction IDs that make retries idempotent.

export interface InMemoryHomeserverOptions {
  /** One device message larger than this fails the whole request with 413; default 65,536. */
  readonly maxMessageBytes?: number;
  /** Delay of a key query for users a device does not track yet; default 0. */
  readonly keyQueryDelayMs?: number;
  /** Delay between acceptance and arrival at the receiving devices; default 0 (next microtask). */
  readonly deliveryDelayMs?: number;
}

export interface InMemoryDeviceOptions {
  /** Reported to receivers as `senderVerified`; default `false`. */
  readonly verified?: boolean;
  /** `false`: no one-time keys, so no Olm session can be started with it; default `true`. */
  readonly hasOneTimeKeys?: boolean;
}

/** What the next `/sendToDevice` request runs into (one fault per request, in order). */
export type SendToDeviceFault =
  /** 429 `M_LIMIT_EXCEEDED` with `retry_after_ms`; nothing is delivered. */
  | { readonly kind: "rate_limited"; readonly retryAfterMs: number }
  /** An HTTP error (default 500 `M_UNKNOWN`); nothing is delivered. */
  | { readonly kind: "http_error"; readonly status?: number; readonly errcode?: string }
  /** The request is accepted after `delayMs`. */
  | { readonly kind: "slow"; readonly delayMs: number }
  /** No answer. With `afterDelivery`, the homeserver did deliver: only the reply was lost. */
  | { readonly kind: "connection_dropped"; readonly afterDelivery?: boolean };

/** One `/sendToDevice` request as the homeserver saw it. */
export interface SendToDeviceRecord {
  readonly sender: DeviceAddress;
  readonly eventType: string;
  readonly txnId: string;
  readonly messageCount: number;
  /** The UTF-8 bytes of the JSON body. */
  readonly bodyBytes: number;
  /** 200, an error status, or `"no_answer"` when the connection dropped. */
  readonly outcome: number | "no_answer";
  /** Whether this request delivered messages (a repeated transaction ID does not). */
  readonly delivered: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type RequestBody = Record<string, Record<string, JsonObject>>;

/**
 * The `messages` map of the request body. Null-prototype objects, so that any user or device ID
 * (`__proto__` included) is an own key; a device named again takes the later content and keeps
 * the first one's place, as `JSON.parse` does with a repeated key.
 */
function requestBody(list: ReadonlyArray<DeviceMessage>): RequestBody {
  const body: RequestBody = Object.create(null);
  for (const { userId, deviceId, content } of list) {
    body[userId] ??= Object.create(null);
    (body[userId] as Record<string, JsonObject>)[deviceId] = content;
  }
  return body;
}

function messagesOf(body: RequestBody): DeviceMessage[] {
  return Object.entries(body).flatMap(([userId, devices]) =>
    Object.entries(devices).map(([deviceId, content]) => ({ userId, deviceId, content })),
  );
}

function copy(content: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(content)) as JsonObject;
}

export class InMemoryHomeserver {
  /** Every `/sendToDevice` request, in arrival order. */
  readonly sendLog: SendToDeviceRecord[] = [];
  /** Settable at any time. */
  maxMessageBytes: number;
  keyQueryDelayMs: number;
  deliveryDelayMs: number;
  private readonly users = new Map<
    string,
    Map<string, { device: SimulatedDevice; transport: InMemoryTransport }>
  >();
  private readonly byCurveKey = new Map<string, SimulatedDevice>();
  private readonly faults: SendToDeviceFault[] = [];
  private readonly transactions = new Set<string>();
  private readonly link: HomeserverLink;

  constructor(options: InMemoryHomeserverOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 65_536;
    this.keyQueryDelayMs = options.keyQueryDelayMs ?? 0;
    this.deliveryDelayMs = options.deliveryDelayMs ?? 0;
    this.link = {
      device: (userId, deviceId) => this.users.get(userId)?.get(deviceId)?.device,
      deviceByCurveKey: (key) => this.byCurveKey.get(key),
      deviceIds: (userId) => this.deviceIds(userId),
      keyQueryDelayMs: () => this.keyQueryDelayMs,
      sendToDevice: (from, eventType, messages, txnId) =>
        this.sendToDevice(from, eventType, messages, txnId),
    };
  }

  /** Logs a device in (at any time: others see it at their next key query or send). */
  addDevice(
    userId: string,
    deviceId: string,
    options: InMemoryDeviceOptions = {},
  ): InMemoryTransport {
    let devices = this.users.get(userId);
    if (devices === undefined) {
      devices = new Map();
      this.users.set(userId, devices);
    }
    if (devices.has(deviceId)) throw new Error(`${userId} already has a device ${deviceId}`);
    const device: SimulatedDevice = {
      userId,
      deviceId,
      curve25519: randomKey(),
      ed25519: randomKey(),
      verified: options.verified ?? false,
      hasOneTimeKeys: options.hasOneTimeKeys ?? true,
    };
    const transport = new InMemoryTransport(device, this.link);
    devices.set(deviceId, { device, transport });
    this.byCurveKey.set(device.curve25519, device);
    return transport;
  }

  /** Logs a device out: it receives nothing more and leaves its user's device list. */
  removeDevice(userId: string, deviceId: string): void {
    const entry = this.users.get(userId)?.get(deviceId);
    if (entry === undefined) return;
    this.users.get(userId)?.delete(deviceId);
    this.byCurveKey.delete(entry.device.curve25519);
  }

  /** The user's current device IDs. */
  deviceIds(userId: string): ReadonlyArray<string> {
    return [...(this.users.get(userId)?.keys() ?? [])];
  }

  /** Marks a device as cross-signed by a verified user (or not) for every receiver. */
  setVerified(userId: string, deviceId: string, verified: boolean): void {
    const entry = this.users.get(userId)?.get(deviceId);
    if (entry !== undefined) entry.device.verified = verified;
  }

  /** The next requests run into these faults, one per request, in order. */
  failNextSends(...faults: SendToDeviceFault[]): void {
    this.faults.push(...faults);
  }

  /** Faults not consumed yet. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  private async sendToDevice(
    from: DeviceAddress,
    eventType: string,
    list: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void> {
    const url = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
    // What a homeserver sees is a JSON body: a device named twice is one entry, the later one.
    const body = requestBody(list);
    const messages = messagesOf(body);
    const record = (outcome: number | "no_answer", delivered: boolean) =>
      this.sendLog.push({
        sender: from,
        eventType,
        txnId,
        messageCount: messages.length,
        bodyBytes: serialisedBytes({ messages: body }),
        outcome,
        delivered,
      });
    await Promise.resolve();
    const fault = this.faults.shift();
    if (fault?.kind === "slow") await sleep(fault.delayMs);
    if (fault?.kind === "rate_limited") {
      record(429, false);
      throw new SendToDeviceError("Too many requests", {
        httpStatus: 429,
        errcode: "M_LIMIT_EXCEEDED",
        retryAfterMs: fault.retryAfterMs,
        url,
      });
    }
    if (fault?.kind === "http_error") {
      const status = fault.status ?? 500;
      record(status, false);
      throw new SendToDeviceError("Internal server error", {
        httpStatus: status,
        errcode: fault.errcode ?? "M_UNKNOWN",
        url,
      });
    }
    if (fault?.kind === "connection_dropped" && fault.afterDelivery !== true) {
      record("no_answer", false);
      throw new SendToDeviceError("The connection was dropped");
    }
    // Like Synapse: one oversized message fails the whole request, nothing is delivered.
    const oversized = messages.find((m) => serialisedBytes(m.content) > this.maxMessageBytes);
    if (oversized !== undefined) {
      record(413, false);
      throw new SendToDeviceError(
        `A message to ${oversized.userId} ${oversized.deviceId} is too large`,
        {
          httpStatus: 413,
          errcode: "M_TOO_LARGE",
          url,
        },
      );
    }
    // A transaction ID seen before is acknowledged without delivering again.
    const transaction = `${from.userId}\n${from.deviceId}\n${txnId}`;
    const fresh = !this.transactions.has(transaction);
    if (fresh) {
      this.transactions.add(transaction);
      this.fanOut(from.userId, eventType, messages);
    }
    if (fault?.kind === "connection_dropped") {
      record("no_answer", fresh);
      throw new SendToDeviceError("The connection was dropped after the request was processed");
    }
    record(200, fresh);
  }

  /** `*` means every device the user has now; unknown device IDs are dropped silently. */
  private fanOut(sender: string, type: string, messages: ReadonlyArray<DeviceMessage>): void {
    for (const { userId, deviceId, content } of messages) {
      const devices = this.users.get(userId);
      if (devices === undefined) continue;
      const targets =
        deviceId === ALL_DEVICES
          ? [...devices.values()]
          : [devices.get(deviceId)].filter((d) => d !== undefined);
      for (const { transport } of targets) {
        const event = { type, sender, content: copy(content) };
        // Each device's inbox keeps order: deliveries are queued in acceptance order.
        if (this.deliveryDelayMs > 0)
          setTimeout(() => transport.deliver(event), this.deliveryDelayMs);
        else queueMicrotask(() => transport.deliver(event));
      }
    }
  }
}

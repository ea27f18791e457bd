import type { JsonObject } from "@widget-todevice/codec";

// The transport seam: the Matrix work the driver needs, and nothing else. Shaped after
// matrix-js-sdk so that an implementation is a thin mapping:
//   getUserDevices          -> getCrypto().getUserDeviceInfo(userIds, downloadUncached)
//   encryptToDeviceMessages -> getCrypto().encryptToDeviceMessages(type, devices, content)
//   sendToDevice            -> client.sendToDevice(type, contentMap, txnId)
//   onToDeviceMessage       -> ClientEvent.ReceivedToDeviceMessage

/** One device of one user. */
export interface DeviceAddress {
  readonly userId: string;
  readonly deviceId: string;
}

/** One message of a `/sendToDevice` request. `deviceId` may be `*` for cleartext sends. */
export interface DeviceMessage extends DeviceAddress {
  readonly content: JsonObject;
}

/**
 * Why one device got no ciphertext. `no_olm_session` (no one-time key could be claimed) and
 * `withheld` (the host's outgoing-trust setting excluded the device) are the usual ones.
 */
export type EncryptionFailureReason =
  | "no_olm_session"
  | "withheld"
  | "unknown_device"
  | (string & {});

export interface EncryptionFailure extends DeviceAddress {
  readonly reason: EncryptionFailureReason;
}

/** The result of encrypting one content for a list of devices. */
export interface EncryptedBatch {
  /** The type the ciphertexts travel as: `m.room.encrypted`. */
  readonly eventType: string;
  /** One ciphertext payload per device that can receive it. */
  readonly messages: ReadonlyArray<DeviceMessage>;
  /** Every requested device that is not in `messages`, with the reason. */
  readonly failures: ReadonlyArray<EncryptionFailure>;
}

/** How an incoming message was decrypted; `null` in `ReceivedToDeviceMessage` for cleartext. */
export interface ToDeviceEncryptionInfo {
  /** The sender as authenticated by the Olm session. */
  readonly sender: string;
  /** The sending device as authenticated by the Olm session, when known. */
  readonly senderDevice?: string | undefined;
  /** Whether the sending device is cross-signed by a user this account has verified. */
  readonly senderVerified: boolean;
}

/** A to-device event as the client has it: decrypted, possibly with envelope fields. */
export interface ReceivedToDeviceEvent {
  readonly type: string;
  readonly sender: string;
  readonly content: unknown;
  readonly [field: string]: unknown;
}

export interface ReceivedToDeviceMessage {
  readonly message: ReceivedToDeviceEvent;
  /** How it was received: `null` means it arrived in cleartext. */
  readonly encryptionInfo: ToDeviceEncryptionInfo | null;
}

export interface DeviceListOptions {
  /**
   * `true`: fetch the lists of users not tracked yet (a key query). `false`: answer from what
   * is already tracked, leaving untracked users out of the result.
   */
  readonly downloadUncached: boolean;
}

export interface ToDeviceTransport {
  /** The device IDs of each user, as up to date as the client can make them. */
  getUserDevices(
    userIds: ReadonlyArray<string>,
    options: DeviceListOptions,
  ): Promise<ReadonlyMap<string, ReadonlyArray<string>>>;

  /** Encrypts `content` (of type `eventType`) once per device. */
  encryptToDeviceMessages(
    eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<EncryptedBatch>;

  /**
   * Sends one `/sendToDevice` request. Resolves when the homeserver accepted it; rejects with a
   * `SendToDeviceError` otherwise. Sending again with the same `txnId` must never deliver twice.
   */
  sendToDevice(
    eventType: string,
    messages: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void>;

  /** Subscribes to incoming to-device messages; returns the unsubscribe function. */
  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void;
}

export interface SendToDeviceErrorDetails {
  /** HTTP status; absent for network errors (no answer at all). */
  readonly httpStatus?: number | undefined;
  /** The Matrix `errcode`, e.g. `M_LIMIT_EXCEEDED`. */
  readonly errcode?: string | undefined;
  /** How long the homeserver asked to wait before retrying. */
  readonly retryAfterMs?: number | undefined;
  /** The request URL, for error reports. */
  readonly url?: string | undefined;
  readonly httpHeaders?: Readonly<Record<string, string>> | undefined;
}

/** A `/sendToDevice` request (or a key query or claim) that the homeserver did not accept. */
export class SendToDeviceError extends Error {
  readonly httpStatus: number | undefined;
  readonly errcode: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly url: string | undefined;
  readonly httpHeaders: Readonly<Record<string, string>>;

  constructor(message: string, details: SendToDeviceErrorDetails = {}) {
    super(message);
    this.name = "SendToDeviceError";
    this.httpStatus = details.httpStatus;
    this.errcode = details.errcode;
    this.retryAfterMs = details.retryAfterMs;
    this.url = details.url;
    this.httpHeaders = details.httpHeaders ?? {};
  }

  /** No HTTP answer at all: the connection failed or was dropped. */
  get isNetworkError(): boolean {
    return this.httpStatus === undefined;
  }
}

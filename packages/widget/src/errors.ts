import type { CodecIssue, DeliveryFailures } from "@widget-todevice/codec";

/** The base of every error this package throws or reports: `instanceof ToDeviceError` catches all. */
export class ToDeviceError extends Error {
  override readonly name: string = "ToDeviceError";
}

/** Why a send did not (fully) succeed. */
export type SendErrorReason =
  /** The request failed local validation; `issues` says where. Nothing was posted. */
  | "invalid_request"
  /** The type is not in the widget's `send` list, so its capability was never requested. */
  | "not_declared"
  /** The host did not grant the send capability for this type. */
  | "not_permitted"
  /** A scoped send, but the host cannot scope: refused rather than sent unscoped (section 2). */
  | "scope_unsupported"
  /** The host answered with an error; `hostMessage` and `hostError` carry it. */
  | "host_refused"
  /**
   * The host's answer is neither `{}`, a well-formed `failures` report nor an error: the host
   * misbehaved, and whether it delivered is unknown. `hostReply` carries what it said.
   */
  | "invalid_reply"
  /** The host sent to some devices and lists the others in `failures`. */
  | "partial_failure"
  /** The host did not answer in time (or never finished negotiating). It may still deliver. */
  | "timeout"
  /** The negotiation with the host failed (`cause` is the `ToDeviceNegotiationError`); nothing was sent. */
  | "not_ready"
  /** `close()` was called before the send settled. If it was posted, the host may still deliver. */
  | "closed"
  /** The widget API could not post or lost its channel (stopped, not started). */
  | "transport";

interface SendErrorInit {
  readonly reason: SendErrorReason;
  readonly type: string;
  readonly issues?: ReadonlyArray<CodecIssue>;
  readonly failures?: DeliveryFailures;
  readonly hostMessage?: string;
  readonly hostError?: Readonly<Record<string, unknown>>;
  readonly hostReply?: unknown;
  readonly cause?: unknown;
}

/** A `send` that was refused, failed, timed out or reached only some devices. */
export class ToDeviceSendError extends ToDeviceError {
  override readonly name = "ToDeviceSendError";
  readonly reason: SendErrorReason;
  /** The event type of the send. */
  readonly type: string;
  /** For `invalid_request`: every problem, with its JSON path in the request. */
  readonly issues: ReadonlyArray<CodecIssue>;
  /** Devices the host reports it did not reach: non-empty for `partial_failure`. */
  readonly failures: DeliveryFailures;
  /** The host's own error message, for `host_refused`. */
  readonly hostMessage: string | undefined;
  /** The rest of the host's error (for example `matrix_api_error`), for `host_refused`. */
  readonly hostError: Readonly<Record<string, unknown>> | undefined;
  /** The host's answer as received, for `invalid_reply`, `host_refused` and `partial_failure`. */
  readonly hostReply: unknown;

  constructor(message: string, init: SendErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.reason = init.reason;
    this.type = init.type;
    this.issues = init.issues ?? [];
    this.failures = init.failures ?? {};
    this.hostMessage = init.hostMessage;
    this.hostError = init.hostError;
    this.hostReply = init.hostReply;
  }
}

/** Why an incoming message did not reach a handler. */
export type ReceiveErrorReason =
  /** The host's `send_to_device` request is not a valid section 7 message. */
  | "invalid_message"
  /** The content does not match the codec the subscription was made with. */
  | "invalid_content"
  /** Scoped mode: the message is stamped for another room (section 7). */
  | "out_of_scope"
  /** A handler threw or its promise rejected. */
  | "handler_failed"
  /**
   * The host sent it before the negotiation finished, when the widget cannot yet tell whether it
   * is in scoped mode or which sender facts the host vouches for. A host that follows the
   * protocol never does (the receive capability is not granted yet); it is answered with an error.
   */
  | "not_negotiated"
  /** `messages()`: the iterator was not read and its buffer was full; the oldest was dropped. */
  | "buffer_full";

interface ReceiveErrorInit {
  readonly reason: ReceiveErrorReason;
  /** The host's request data, as received. */
  readonly data: unknown;
  readonly type?: string;
  readonly sender?: string;
  readonly issues?: ReadonlyArray<CodecIssue>;
  readonly cause?: unknown;
}

/** An incoming message the widget did not hand to a handler; given to `onError`, never thrown. */
export class ToDeviceReceiveError extends ToDeviceError {
  override readonly name = "ToDeviceReceiveError";
  readonly reason: ReceiveErrorReason;
  readonly data: unknown;
  readonly type: string | undefined;
  readonly sender: string | undefined;
  /** For `invalid_message` and `invalid_content`: what did not match, with JSON paths. */
  readonly issues: ReadonlyArray<CodecIssue>;

  constructor(message: string, init: ReceiveErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.reason = init.reason;
    this.data = init.data;
    this.type = init.type;
    this.sender = init.sender;
    this.issues = init.issues ?? [];
  }
}

/** Why the widget cannot ask for, or use, a capability. */
export type CapabilityErrorReason =
  /** A reserved type (key management, verification): never granted, so never asked (section 1). */
  | "reserved_type"
  /** Not an event type (empty, spaces, too long, a wildcard). */
  | "invalid_type"
  /** Capabilities were already negotiated and the host cannot renegotiate. */
  | "already_negotiated"
  /** Subscribing to a type that is not in the widget's `receive` list. */
  | "not_declared";

/** Thrown when the widget is created or subscribes with types it cannot hold. */
export class ToDeviceCapabilityError extends ToDeviceError {
  override readonly name = "ToDeviceCapabilityError";
  readonly reason: CapabilityErrorReason;
  readonly types: ReadonlyArray<string>;

  constructor(message: string, reason: CapabilityErrorReason, types: ReadonlyArray<string>) {
    super(message);
    this.reason = reason;
    this.types = types;
  }
}

/** Why `ready` rejected. */
export type NegotiationErrorReason =
  /** The host did not finish the negotiation within `readyTimeoutMs`. */
  | "timeout"
  /** The host sent a malformed negotiation message; `hostMessage` carries it. */
  | "invalid_host_message"
  /** `close()` was called before the negotiation finished. */
  | "closed";

/** `ready` rejects with this: the widget and the host did not agree on capabilities and versions. */
export class ToDeviceNegotiationError extends ToDeviceError {
  override readonly name = "ToDeviceNegotiationError";
  readonly reason: NegotiationErrorReason;
  /** What the host sent, for `invalid_host_message`. */
  readonly hostMessage: unknown;

  constructor(message: string, reason: NegotiationErrorReason, hostMessage?: unknown) {
    super(message);
    this.reason = reason;
    this.hostMessage = hostMessage;
  }
}

/** What the host sent, for an error message: its JSON, cut short. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

import {
  type CodecIssue,
  type DeliveryFailures,
  DeliveryFailuresC,
  decodeSendRequest,
  encodeSendRequest,
  type Format,
  type NormalSendRequest,
  normalize,
  type RequestedScope,
  type SendRequestWire,
  toLegacyRequest,
} from "@widget-todevice/codec";
// fp-ts is used for its types only: its CommonJS build would not tree-shake out of a widget.
import type { Either } from "fp-ts/lib/Either.js";
import {
  type IWidgetApiRequestData,
  type IWidgetApiResponse,
  type WidgetApi,
  WidgetApiFromWidgetAction,
} from "matrix-widget-api";
import { quote, type SendErrorReason, ToDeviceSendError } from "./errors.js";
import { isJsonObject } from "./json-object.js";

// Section 3: one content for many devices, posted in the format the host speaks.

/** user ID -> device IDs, or `"*"` (or `["*"]`) for every device of that user. */
export type Recipients = Readonly<Record<string, ReadonlyArray<string> | "*">>;

export interface SendOptions {
  /**
   * A wish, not a command (section 5): `true` asks for encryption, `false` for cleartext (which
   * a host refuses in an encrypted room). Left out, the host's policy decides; a legacy host
   * needs a flag, and gets `true`.
   */
  readonly encrypted?: boolean;
  /**
   * Send scoped to the widget's room (section 3.3): the host stamps
   * `content.scope = {room_id, id}`; `id` defaults to the widget's type (`m.custom`, ...). A host that cannot
   * scope makes the send fail with `scope_unsupported`; it is never sent unscoped.
   * `"auto"`: scoped when the negotiation is (a scoping host and a room-bound widget, whose
   * peers then accept only scoped messages), else unscoped.
   */
  readonly scope?: RequestedScope | "auto";
  /**
   * How long the send may take, its wait for `ready` included; default the widget's
   * `sendTimeoutMs` (60 s). Longer than `MAX_TIMEOUT_MS` (about 24.8 days, `Infinity` included)
   * is clamped to it; zero, negative or not a number fails with `invalid_request`.
   */
  readonly timeoutMs?: number;
  /**
   * Resolve, with the failures in the receipt, when the host reached only some devices.
   * Default `false`: a partial success rejects with `partial_failure`, so that it is not missed.
   */
  readonly acceptPartial?: boolean;
}

/** What a send that the host confirmed returns. */
export interface SendReceipt {
  /** The format the request went out in. */
  readonly format: Format;
  /** Devices the host reports it did not reach; `{}` when it reached all. */
  readonly failures: DeliveryFailures;
}

/** The recipients-format request for a send, validated with the codec; issues on failure. */
export function buildRequest(
  type: string,
  recipients: Recipients,
  content: object,
  options: SendOptions,
): Either<ReadonlyArray<CodecIssue>, NormalSendRequest> {
  let recipientDevices: unknown = recipients;
  if (isJsonObject(recipients)) {
    const entries = Object.entries(recipients);
    if (entries.length === 0) {
      return {
        _tag: "Left",
        left: [
          { path: "recipient_devices", code: "invalid_value", message: "names no recipients" },
        ],
      };
    }
    const devicesByUser: Record<string, unknown> = {};
    for (const [userId, devices] of entries) {
      // defineProperty: a user ID such as `__proto__` must stay a plain key.
      Object.defineProperty(devicesByUser, userId, {
        value: devices === "*" ? ["*"] : devices,
        enumerable: true,
      });
    }
    recipientDevices = devicesByUser;
  }
  const wire = {
    type,
    ...(options.encrypted === undefined ? {} : { encrypted: options.encrypted }),
    recipient_devices: recipientDevices,
    content,
    ...(options.scope === undefined || options.scope === "auto" ? {} : { scope: options.scope }),
  };
  const decoded = decodeSendRequest(wire);
  return decoded._tag === "Left" ? decoded : { _tag: "Right", right: normalize(decoded.right) };
}

/** The request data for `format`: legacy repeats the content per device (section 4). */
export function requestData(
  request: NormalSendRequest,
  format: Format,
): SendRequestWire | undefined {
  if (format !== "legacy") {
    const group = request.groups[0];
    if (group === undefined) return undefined;
    return {
      type: request.type,
      ...(request.encrypted === undefined ? {} : { encrypted: request.encrypted }),
      recipient_devices: group.recipients,
      content: group.content,
      ...(request.scope === undefined ? {} : { scope: request.scope }),
    };
  }
  const legacy = toLegacyRequest(request, { encryptedByDefault: true });
  return legacy._tag === "Right" ? encodeSendRequest(legacy.right) : undefined;
}

/**
 * Posts `send_to_device` and resolves with the host's answer. matrix-widget-api reads the
 * transport's `timeoutSeconds` once, synchronously, when a request is posted: setting it around
 * the post gives this request its own timeout without changing any other. The caller's
 * `Deadline` is the one that counts; this one lets the transport forget the request.
 * An answer to this request ID that names another action is the host misbehaving.
 */
export async function postSendToDevice(
  api: WidgetApi,
  data: SendRequestWire,
  delayMs: number,
): Promise<unknown> {
  const transport = api.transport;
  const previous = transport.timeoutSeconds;
  let posted: Promise<IWidgetApiResponse>;
  transport.timeoutSeconds = delayMs / 1000;
  try {
    posted = transport.sendComplete<IWidgetApiRequestData, IWidgetApiResponse>(
      WidgetApiFromWidgetAction.SendToDevice,
      data as unknown as IWidgetApiRequestData,
    );
  } finally {
    transport.timeoutSeconds = previous;
  }
  const reply: unknown = await posted;
  if (
    typeof reply !== "object" ||
    reply === null ||
    (reply as { action?: unknown }).action !== WidgetApiFromWidgetAction.SendToDevice
  ) {
    throw new InvalidReplyError(
      `the answer to this request names the action ${quote((reply as { action?: unknown } | null)?.action)}, not "send_to_device"`,
      reply,
    );
  }
  return (reply as { response?: unknown }).response;
}

/** An answer the transport accepted that is not an answer to `send_to_device`. */
export class InvalidReplyError extends Error {
  constructor(
    message: string,
    readonly reply: unknown,
  ) {
    super(message);
  }
}

/** The typed error for a rejected post: the host's error reply, a timeout or a dead channel. */
export function sendErrorOf(type: string, error: unknown, timeoutMs: number): ToDeviceSendError {
  if (error instanceof InvalidReplyError) {
    return new ToDeviceSendError(
      `the host's answer to the ${type} send is invalid (${error.message}); it may or may not have delivered: ${quote(error.reply)}`,
      { reason: "invalid_reply", type, hostReply: error.reply },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  // matrix-widget-api rejects with WidgetApiResponseError(message, rest of the error): duck-typed,
  // since a widget may bundle another copy of the library.
  const data = isJsonObject(error) && isJsonObject(error.data) ? error.data : undefined;
  if (data !== undefined) {
    // The error's own `failures`, read like a partial success's; a malformed one is left out.
    const failures = Object.hasOwn(data, "failures")
      ? DeliveryFailuresC.decode(data.failures)
      : undefined;
    return new ToDeviceSendError(`the host refused the ${type} send: ${message}`, {
      reason: "host_refused",
      type,
      hostMessage: message,
      hostError: data,
      hostReply: { error: { message, ...data } },
      failures: failures?._tag === "Right" ? failures.right : {},
      cause: error,
    });
  }
  const reason: SendErrorReason = message === "Request timed out" ? "timeout" : "transport";
  return new ToDeviceSendError(
    reason === "timeout"
      ? `the host did not answer the ${type} send within ${timeoutMs} ms; it may still deliver it`
      : `the ${type} send could not be posted: ${message}`,
    { reason, type, cause: error },
  );
}

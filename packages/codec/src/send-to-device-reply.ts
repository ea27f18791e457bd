import * as t from "io-ts";
import { type CodecIssue, issuesOf } from "./codec-issue.js";
import {
  type DeliveryFailures,
  DeliveryFailuresC,
  type MatrixApiError,
  MatrixApiErrorC,
} from "./delivery-report.js";
import * as E from "./either.js";
import { hasOwn, isPlainObject } from "./issue-log.js";
import { describe } from "./json-content.js";
import { issue, neverThrowing, struct } from "./plain-object-codecs.js";

// Sections 6 and 8: the response `data` a host gives a `fromWidget` `send_to_device` request.
// The driver builds it, the widget reads it: one codec for both sides.

/** The `error` of a refused or failed send, in matrix-widget-api's shape. */
export const SendToDeviceErrorC = /* @__PURE__ */ struct(
  "SendToDeviceError",
  { message: t.string },
  { failures: DeliveryFailuresC, matrix_api_error: MatrixApiErrorC },
  // Other hosts may add details of their own: they are left out, never a reason to fail.
  { what: "`error`", otherFields: "drop" },
);

/** `{message, failures?, matrix_api_error?}`: why a send was refused or failed. */
export type SendToDeviceError = t.TypeOf<typeof SendToDeviceErrorC>;

/** A host's answer to a send, by what it means. */
export type SendToDeviceReply =
  /** `{}`: every device was reached. */
  | { readonly kind: "success" }
  /** `{failures}`: the devices listed were not reached, the others were. */
  | { readonly kind: "partial"; readonly failures: DeliveryFailures }
  /** `{error: {message, failures?, matrix_api_error?}}`: refused, or failed. */
  | { readonly kind: "error"; readonly error: SendToDeviceError };

/** The reply as it travels. */
export type SendToDeviceReplyWire =
  | Readonly<Record<string, never>>
  | { readonly failures: DeliveryFailures }
  | { readonly error: SendToDeviceError };

const PartialWireC = /* @__PURE__ */ struct(
  "PartialReply",
  { failures: DeliveryFailuresC },
  {},
  { what: "a partial success", otherFields: "refuse" },
);
const ErrorWireC = /* @__PURE__ */ struct(
  "ErrorReply",
  { error: SendToDeviceErrorC },
  {},
  { what: "an error reply", otherFields: "refuse" },
);
const SuccessWireC = /* @__PURE__ */ struct(
  "SuccessReply",
  {},
  {},
  { what: "a reply (a success is exactly `{}`)", otherFields: "refuse" },
);

function validateReply(u: unknown, c: t.Context): t.Validation<SendToDeviceReply> {
  if (!isPlainObject(u)) {
    return issue(u, c, "wrong_type", `a reply must be an object, not ${describe(u)}`);
  }
  // The field present says which reply it claims to be; anything more is refused, so that a
  // malformed error or failure list can never pass for a success.
  if (hasOwn(u, "error")) {
    const reply = ErrorWireC.validate(u, c);
    return reply._tag === "Left" ? reply : t.success({ kind: "error", error: reply.right.error });
  }
  if (hasOwn(u, "failures")) {
    const reply = PartialWireC.validate(u, c);
    if (reply._tag === "Left") return reply;
    // `{"failures": {}}` lists no failed device: it says what `{}` says (section 6).
    if (Object.keys(reply.right.failures).length === 0) return t.success({ kind: "success" });
    return t.success({ kind: "partial", failures: reply.right.failures });
  }
  const reply = SuccessWireC.validate(u, c);
  return reply._tag === "Left" ? reply : t.success({ kind: "success" });
}

/** The wire form of a reply. A partial success that lists no device is a success, `{}`. */
export function encodeSendToDeviceReply(reply: SendToDeviceReply): SendToDeviceReplyWire {
  switch (reply.kind) {
    case "success":
      return {};
    case "partial":
      return Object.keys(reply.failures).length === 0
        ? {}
        : { failures: DeliveryFailuresC.encode(reply.failures) };
    case "error":
      return { error: SendToDeviceErrorC.encode(reply.error) };
  }
}

/**
 * The codec of a `send_to_device` reply: decodes the wire into a `SendToDeviceReply` and
 * encodes it back.
 */
export const SendToDeviceReplyC: t.Type<SendToDeviceReply, SendToDeviceReplyWire, unknown> =
  /* @__PURE__ */ neverThrowing(
    /* @__PURE__ */ new t.Type<SendToDeviceReply, SendToDeviceReplyWire, unknown>(
      "SendToDeviceReply",
      (u): u is SendToDeviceReply => {
        if (!isPlainObject(u)) return false;
        switch (u.kind) {
          case "success":
            return true;
          case "partial":
            return DeliveryFailuresC.is(u.failures) && Object.keys(u.failures).length > 0;
          case "error":
            return SendToDeviceErrorC.is(u.error);
          default:
            return false;
        }
      },
      validateReply,
      encodeSendToDeviceReply,
    ),
  );

/**
 * Decodes the response `data` of a `send_to_device` request. Never throws; anything but the
 * three shapes of sections 6 and 8 is `Left`, with the path of what is wrong.
 */
export function decodeSendToDeviceReply(
  input: unknown,
): E.Either<ReadonlyArray<CodecIssue>, SendToDeviceReply> {
  return E.mapLeft(SendToDeviceReplyC.decode(input), issuesOf);
}

/** `{}`: every device was reached. */
export function successReply(): SendToDeviceReplyWire {
  return {};
}

/** `{failures}`, or `{}` when `failures` lists no device. */
export function partialReply(failures: DeliveryFailures): SendToDeviceReplyWire {
  return encodeSendToDeviceReply({ kind: "partial", failures });
}

/** `{error: {message, failures?, matrix_api_error?}}`. */
export function errorReply(
  message: string,
  details: {
    readonly failures?: DeliveryFailures;
    readonly matrix_api_error?: MatrixApiError;
  } = {},
): SendToDeviceReplyWire {
  return encodeSendToDeviceReply({ kind: "error", error: { message, ...details } });
}

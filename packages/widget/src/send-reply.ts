import {
  type DeliveryFailures,
  decodeSendToDeviceReply,
  formatIssues,
} from "@widget-todevice/codec";
import { quote } from "./errors.js";
import { isJsonObject } from "./json-object.js";

// Section 6: what a host's answer to `send_to_device` means. The host is untrusted input: only
// `{}` and a well-formed `failures` report are successes; everything else is a failure. The
// codec's reply codec reads the shapes (matrix-rust-sdk's `{user: [device]}` included).

/** How the widget reads a host's answer to `send_to_device`. */
export type SendReply =
  /** `{}`, or `{failures}` listing the devices not reached (`{}` when none). */
  | { readonly kind: "delivered"; readonly failures: DeliveryFailures }
  /** An `error` answer, well-formed or not: the host refused. */
  | { readonly kind: "refused"; readonly message: string }
  /** Anything else: the host misbehaved; `problem` says how. */
  | { readonly kind: "invalid"; readonly problem: string };

/**
 * Reads an answer the transport resolved with. matrix-widget-api resolves every answer whose
 * `error` lacks a string `message`, so malformed errors arrive here and are refusals.
 */
export function readSendReply(response: unknown): SendReply {
  const reply = decodeSendToDeviceReply(response);
  if (reply._tag === "Right") {
    switch (reply.right.kind) {
      case "success":
        return { kind: "delivered", failures: {} };
      case "partial":
        return { kind: "delivered", failures: reply.right.failures };
      case "error":
        return refused(reply.right.error);
    }
  }
  // An answer that says `error` is a refusal, however malformed the rest (section 8).
  if (isJsonObject(response) && Object.hasOwn(response, "error")) return refused(response.error);
  return { kind: "invalid", problem: formatIssues(reply.left) };
}

function refused(error: unknown): SendReply {
  const message = isJsonObject(error) && typeof error.message === "string" ? error.message : "";
  return {
    kind: "refused",
    message:
      message === ""
        ? `a malformed error (an error is {"message": string}): ${quote(error)}`
        : message,
  };
}

export function countFailures(failures: DeliveryFailures): number {
  let count = 0;
  for (const devices of Object.values(failures)) count += Object.keys(devices).length;
  return count;
}

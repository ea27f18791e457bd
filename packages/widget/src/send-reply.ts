import { ALL_DEVICES, isDeviceId, isUserId } from "@widget-todevice/codec";
import { type DeliveryFailures, quote } from "./errors.js";

// Section 6: what a host's answer to `send_to_device` means. The host is untrusted input: only
// `{}` and a well-formed `failures` report are successes; everything else is a failure.

/** How the widget reads a host's answer to `send_to_device`. */
export type SendReply =
  /** `{}`, or `{failures}` listing the devices not reached (`{}` when none). */
  | { readonly kind: "delivered"; readonly failures: DeliveryFailures }
  /** An `error` answer, well-formed or not: the host refused. */
  | { readonly kind: "refused"; readonly message: string }
  /** Anything else: the host misbehaved; `problem` says how. */
  | { readonly kind: "invalid"; readonly problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads an answer the transport resolved with. matrix-widget-api resolves every answer whose
 * `error` lacks a string `message`, so malformed errors arrive here and are refusals.
 */
export function readSendReply(response: unknown): SendReply {
  if (!isRecord(response)) {
    return { kind: "invalid", problem: `the answer is not an object but ${quote(response)}` };
  }
  if (Object.hasOwn(response, "error")) {
    const error = response.error;
    const message = isRecord(error) && typeof error.message === "string" ? error.message : "";
    return {
      kind: "refused",
      message:
        message === ""
          ? `a malformed error (an error is {"message": string}): ${quote(error)}`
          : message,
    };
  }
  const unknown = Object.keys(response).filter((key) => key !== "failures");
  if (unknown.length > 0) {
    return {
      kind: "invalid",
      problem: `the answer has fields the protocol does not define: ${unknown.map((key) => JSON.stringify(key)).join(", ")}`,
    };
  }
  if (!Object.hasOwn(response, "failures")) return { kind: "delivered", failures: {} };
  const failures = readFailures(response.failures);
  return typeof failures === "string"
    ? { kind: "invalid", problem: failures }
    : { kind: "delivered", failures };
}

/**
 * A `failures` report: `{user: {device: reason}}`, or matrix-rust-sdk's `{user: [device]}`
 * (reason `"unspecified"`). Returns the problem, with its path, when it is not one.
 */
export function readFailures(value: unknown): DeliveryFailures | string {
  if (!isRecord(value)) return `failures is not a map of user IDs but ${quote(value)}`;
  const failures: Record<string, Record<string, string>> = {};
  for (const [userId, devices] of Object.entries(value)) {
    const at = `failures[${JSON.stringify(userId)}]`;
    if (!isUserId(userId)) return `${at}: not a user ID`;
    const reasons: Record<string, string> = {};
    const add = (deviceId: unknown, reason: unknown, path: string): string | undefined => {
      if (typeof deviceId !== "string" || !(deviceId === ALL_DEVICES || isDeviceId(deviceId))) {
        return `${path}: not a device ID: ${quote(deviceId)}`;
      }
      if (typeof reason !== "string" || reason === "") {
        return `${path}: the reason is not a non-empty string: ${quote(reason)}`;
      }
      // defineProperty: a device ID such as `__proto__` must stay a plain key.
      Object.defineProperty(reasons, deviceId, { value: reason, enumerable: true });
      return undefined;
    };
    let problem: string | undefined;
    if (Array.isArray(devices)) {
      devices.forEach((deviceId, i) => {
        problem ??= add(deviceId, "unspecified", `${at}[${i}]`);
      });
    } else if (isRecord(devices)) {
      for (const [deviceId, reason] of Object.entries(devices)) {
        problem ??= add(deviceId, reason, `${at}[${JSON.stringify(deviceId)}]`);
      }
    } else {
      problem = `${at}: not a map of device IDs to reasons but ${quote(devices)}`;
    }
    if (problem !== undefined) return problem;
    if (Object.keys(reasons).length === 0) return `${at}: names no device`;
    Object.defineProperty(failures, userId, { value: reasons, enumerable: true });
  }
  return failures;
}

export function countFailures(failures: DeliveryFailures): number {
  let count = 0;
  for (const devices of Object.values(failures)) count += Object.keys(devices).length;
  return count;
}

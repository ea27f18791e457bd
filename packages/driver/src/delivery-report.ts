import type {
  DeliveryFailureReason as CodecDeliveryFailureReason,
  DeliveryFailures,
  MatrixApiError,
} from "@widget-todevice/codec";
import type { SendToDeviceError } from "./transport.js";

// Section 6: what failed, per user and device, with a reason; section 8: homeserver errors in
// matrix-widget-api's `matrix_api_error` shape. The shapes are the codec's; the reasons are ours.

/**
 * Why one device did not get the message. The driver uses `unknown_device`, `no_devices`,
 * `no_olm_session`, `withheld`, `too_large`, `http_<status>`, `network_error`,
 * `device_list_timeout`, `encryption_failed`, `cancelled`, `cleartext_refused` (a cleartext
 * send whose room became encrypted before this device's request left: section 5 holds at
 * departure, so the rest of the send is not sent), `deadline` (the widget's answer deadline
 * passed before this device's request left; it never will) and `outcome_unknown` (the request
 * got no answer, before the deadline or after a dropped connection: the homeserver may have
 * delivered it); an encryption layer may add its own.
 */
export type DeliveryFailureReason = CodecDeliveryFailureReason;

/** The reason a device failed because its request failed. */
export function reasonOf(error: SendToDeviceError): DeliveryFailureReason {
  return error.httpStatus === undefined ? "network_error" : `http_${error.httpStatus}`;
}

export function matrixApiErrorOf(error: SendToDeviceError): MatrixApiError | undefined {
  if (error.httpStatus === undefined) return undefined;
  return {
    http_status: error.httpStatus,
    http_headers: error.httpHeaders,
    url: error.url ?? "",
    response: { errcode: error.errcode ?? "M_UNKNOWN", error: error.message },
  };
}

/** Collects failures; safe for any device ID (even `__proto__`). */
export class FailureCollector {
  private readonly byUser = new Map<string, Map<string, DeliveryFailureReason>>();
  private count = 0;

  add(userId: string, deviceId: string, reason: DeliveryFailureReason): void {
    let devices = this.byUser.get(userId);
    if (devices === undefined) {
      devices = new Map();
      this.byUser.set(userId, devices);
    }
    if (!devices.has(deviceId)) this.count++;
    devices.set(deviceId, reason);
  }

  has(userId: string, deviceId: string): boolean {
    return this.byUser.get(userId)?.has(deviceId) === true;
  }

  get size(): number {
    return this.count;
  }

  /** As plain JSON; `Object.fromEntries` defines own properties, so no key can touch a prototype. */
  toJSON(): DeliveryFailures {
    return Object.fromEntries(
      [...this.byUser].map(([userId, devices]) => [userId, Object.fromEntries(devices)]),
    );
  }
}

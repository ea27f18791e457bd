import * as t from "io-ts";
import { isPlainObject, setOwn } from "./issue-log.js";
import { describe } from "./json-content.js";
import { ALL_DEVICES, deviceIdProblem, isDeviceId, isUserId, userIdProblem } from "./matrix-ids.js";
import { coded, issue, neverThrowing, recordOf, stringOf, struct } from "./plain-object-codecs.js";

// Section 6: which devices a send did not reach, and why; section 8: homeserver errors in
// matrix-widget-api's `matrix_api_error` shape.

/**
 * The reasons the driver gives today, for documentation: a host or an encryption layer may add
 * its own, so a reason is any non-empty string. `http_<status>` carries the homeserver's status.
 */
export const KNOWN_DELIVERY_FAILURE_REASONS = [
  "unknown_device",
  "no_devices",
  "no_olm_session",
  "withheld",
  "too_large",
  "network_error",
  "device_list_timeout",
  "encryption_failed",
  "cancelled",
  "cleartext_refused",
  "deadline",
  "outcome_unknown",
  "unspecified",
] as const;

/** A reason the driver gives: one of `KNOWN_DELIVERY_FAILURE_REASONS`, or `http_<status>`. */
export type KnownDeliveryFailureReason =
  | (typeof KNOWN_DELIVERY_FAILURE_REASONS)[number]
  | `http_${number}`;

/** Why one device did not get the message: a non-empty string (see `KnownDeliveryFailureReason`). */
export type DeliveryFailureReason = string;

/** A reason: any non-empty string. */
export const DeliveryFailureReasonC = /* @__PURE__ */ stringOf(
  "DeliveryFailureReason",
  "a reason string",
  (reason) => reason !== "",
  () => "a reason must not be empty",
);

/** device ID (or `*`) -> reason, for one user. */
const FailedDeviceMapC = /* @__PURE__ */ recordOf("FailedDevices", DeliveryFailureReasonC, {
  what: "a user's failed devices",
  validKey: (deviceId) => deviceId === ALL_DEVICES || isDeviceId(deviceId),
  keyProblem: deviceIdProblem,
  nonEmpty: "names no device: list each device that was not reached",
});

type FailedDevices = t.TypeOf<typeof FailedDeviceMapC>;

/** The reason of a device listed without one (matrix-rust-sdk's list form). */
const UNSPECIFIED = "unspecified";

/**
 * matrix-rust-sdk's widget driver (Element X) lists a user's failed devices without reasons:
 * `["DEVICE", ...]`. Read as the map form, each device with reason `"unspecified"`.
 */
function validateDeviceList(
  list: ReadonlyArray<unknown>,
  c: t.Context,
): t.Validation<FailedDevices> {
  if (list.length === 0) {
    return issue(
      list,
      c,
      "invalid_value",
      "names no device: list each device that was not reached",
    );
  }
  const errors: t.ValidationError[] = [];
  const result: Record<string, string> = {};
  for (let i = 0; i < list.length; i++) {
    const deviceId = list[i];
    const at = t.appendContext(c, String(i), t.string, deviceId);
    if (typeof deviceId !== "string") {
      errors.push(
        coded(deviceId, at, "wrong_type", `must be a device ID, not ${describe(deviceId)}`),
      );
    } else if (deviceId !== ALL_DEVICES && !isDeviceId(deviceId)) {
      errors.push(coded(deviceId, at, "invalid_value", deviceIdProblem(deviceId)));
    } else setOwn(result, deviceId, UNSPECIFIED);
  }
  return errors.length === 0 ? t.success(result) : t.failures(errors);
}

/**
 * One user's failed devices: device ID (or `*`) -> reason, or a list of device IDs that decodes
 * to that map with reason `"unspecified"`. `is` speaks of the map: the list is a wire form only.
 */
const FailedDevicesC = /* @__PURE__ */ neverThrowing(
  /* @__PURE__ */ new t.Type<FailedDevices, FailedDevices, unknown>(
    "FailedDevices",
    // Arrows, not `FailedDeviceMapC.is`: a property read at load time would keep this codec in
    // every bundle, used or not.
    (u): u is FailedDevices => FailedDeviceMapC.is(u),
    (u, c) => {
      if (Array.isArray(u)) return validateDeviceList(u, c);
      if (!isPlainObject(u)) {
        const what = "a user's failed devices must be a map of device ID to reason or a list";
        return issue(u, c, "wrong_type", `${what} of device IDs, not ${describe(u)}`);
      }
      return FailedDeviceMapC.validate(u, c);
    },
    (a) => FailedDeviceMapC.encode(a),
  ),
);

/**
 * user ID -> device ID (or `*`) -> reason: the `failures` of a partial success. Every user
 * names at least one device. A user's devices may also come as a list of device IDs
 * (matrix-rust-sdk): each reads with reason `"unspecified"`.
 */
export const DeliveryFailuresC = /* @__PURE__ */ recordOf("DeliveryFailures", FailedDevicesC, {
  what: "`failures`",
  validKey: isUserId,
  keyProblem: userIdProblem,
});

/** user ID -> device ID (or `*`) -> reason: the `failures` of a partial success. */
export type DeliveryFailures = t.TypeOf<typeof DeliveryFailuresC>;

const HeadersC = /* @__PURE__ */ recordOf("HttpHeaders", t.string, {
  what: "`http_headers`",
  validKey: () => true,
  keyProblem: () => "",
});

const MatrixErrorBodyC = /* @__PURE__ */ struct(
  "MatrixErrorBody",
  { errcode: t.string, error: t.string },
  {},
  { what: "the homeserver's error body", otherFields: "drop" },
);

/** matrix-widget-api's `IMatrixApiError`: the homeserver's answer to a failed request. */
export const MatrixApiErrorC = /* @__PURE__ */ struct(
  "MatrixApiError",
  { http_status: t.number, http_headers: HeadersC, url: t.string, response: MatrixErrorBodyC },
  {},
  { what: "`matrix_api_error`", otherFields: "drop" },
);

/** matrix-widget-api's `IMatrixApiError`. */
export type MatrixApiError = t.TypeOf<typeof MatrixApiErrorC>;

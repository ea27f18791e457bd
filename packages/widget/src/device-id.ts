import { isDeviceId } from "@widget-todevice/codec";

// Section 9: the host substitutes `$org.matrix.msc3819.matrix_device_id` (stable
// `$matrix_device_id`) into the widget's URL; the widget reads the query parameter its
// author's URL template put it in.

/**
 * The query parameters a device ID is read from, in order: the template variables' own names
 * (unstable, stable) and `deviceId`, which Element Call and matrix-js-sdk's `RoomWidgetClient`
 * widgets use (`?deviceId=$org.matrix.msc3819.matrix_device_id`).
 */
export const DEVICE_ID_PARAMETERS: ReadonlyArray<string> = [
  "org.matrix.msc3819.matrix_device_id",
  "matrix_device_id",
  "deviceId",
];

/**
 * A substituted template value. A host that does not know a variable leaves `$name` in the URL,
 * and matrix-widget-api substitutes an unknown device as `""`: neither is a value.
 */
export function templateValue(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === "" || value.startsWith("$")) {
    return undefined;
  }
  return value;
}

/** The widget's own device ID from its URL parameters, if the host filled one in. */
export function readDeviceId(parameters: URLSearchParams): string | undefined {
  for (const name of DEVICE_ID_PARAMETERS) {
    const value = templateValue(parameters.get(name));
    if (value !== undefined && isDeviceId(value)) return value;
  }
  return undefined;
}

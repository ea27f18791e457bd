import { SendToDeviceError } from "./transport.js";

// matrix-js-sdk's errors as the driver's: the retry and the reply read `SendToDeviceError`.

function headersOf(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers !== null && typeof headers === "object" && "forEach" in headers) {
    (headers as Headers).forEach((value, name) => {
      out[name] = value;
    });
  }
  return out;
}

/** `Retry-After` in seconds or as an HTTP date. */
function retryAfterHeader(headers: Record<string, string>): number | undefined {
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * matrix-js-sdk's `MatrixError` / `HTTPError` (an HTTP answer) or `ConnectionError` (none) as the
 * driver's `SendToDeviceError`. Duck-typed: the host's copy of the SDK may not be ours.
 */
export function toSendToDeviceError(error: unknown): SendToDeviceError {
  if (error instanceof SendToDeviceError) return error;
  const e = (error ?? {}) as {
    message?: unknown;
    httpStatus?: unknown;
    errcode?: unknown;
    data?: { retry_after_ms?: unknown } | undefined;
    httpHeaders?: unknown;
    url?: unknown;
  };
  const message = typeof e.message === "string" ? e.message : String(error);
  if (typeof e.httpStatus !== "number") return new SendToDeviceError(message);
  const httpHeaders = headersOf(e.httpHeaders);
  const bodyRetry = e.data?.retry_after_ms;
  const retryAfterMs =
    retryAfterHeader(httpHeaders) ?? (typeof bodyRetry === "number" ? bodyRetry : undefined);
  return new SendToDeviceError(message, {
    httpStatus: e.httpStatus,
    errcode: typeof e.errcode === "string" ? e.errcode : undefined,
    retryAfterMs,
    url: typeof e.url === "string" ? e.url : undefined,
    httpHeaders,
  });
}

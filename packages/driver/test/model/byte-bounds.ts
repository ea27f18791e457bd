/**
 * The byte bound on what the host keeps per widget for incoming messages (the pre-negotiation
 * buffer and the de-duplication memory), read from the driver's own account of it.
 */
import type { ToDeviceDriver, WidgetAttachment } from "../../src/index.js";

export interface RetainedBytes {
  readonly retained: number;
  readonly limit: number;
}

/** `undefined` when the driver does not account for retained bytes. */
export function bufferBoundOf(
  _driver: ToDeviceDriver,
  attachment: WidgetAttachment | undefined,
): RetainedBytes | undefined {
  if (attachment === undefined) return undefined;
  const stats = attachment.stats as unknown as Record<string, unknown>;
  const retained = stats.retainedBytes;
  const limit = stats.maxRetainedBytes;
  return typeof retained === "number" && typeof limit === "number"
    ? { retained, limit }
    : undefined;
}

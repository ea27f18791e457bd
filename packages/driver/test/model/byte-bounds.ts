/**
 * The byte bounds on what the host keeps per widget for incoming messages (protocol §7): the
 * pre-negotiation buffer and the de-duplication memory, read from the driver's own account
 * (`stats.retained`) and held to the bounds it documents (the driver runs with its defaults).
 */
import {
  DEFAULT_DEDUP_MAX_BYTES,
  DEFAULT_PRE_NEGOTIATION,
  type RetainedMemory,
  type WidgetAttachment,
} from "../../src/index.js";

/** What is over its bound, in words; empty when all is within. */
export function overByteBounds(attachment: WidgetAttachment | undefined): string[] {
  // A driver without this account (before the bounds existed) cannot be held to them.
  const retained = attachment?.stats.retained as RetainedMemory | undefined;
  if (retained === undefined) return [];
  const { bufferedBytes, dedupBytes, retainedBytes } = retained;
  const over: string[] = [];
  if (bufferedBytes > DEFAULT_PRE_NEGOTIATION.maxBytes)
    over.push(
      `holds ${bufferedBytes} bytes before negotiation (bound ${DEFAULT_PRE_NEGOTIATION.maxBytes})`,
    );
  if (dedupBytes > DEFAULT_DEDUP_MAX_BYTES)
    over.push(`remembers ${dedupBytes} bytes of msgids (bound ${DEFAULT_DEDUP_MAX_BYTES})`);
  if (retainedBytes !== bufferedBytes + dedupBytes)
    over.push(`reports ${retainedBytes} retained bytes, not the sum of its parts`);
  return over;
}

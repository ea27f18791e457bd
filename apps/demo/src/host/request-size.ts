import {
  countRecipients,
  decodeSendRequest,
  encodeSendRequest,
  normalize,
  toLegacyRequest,
} from "@widget-todevice/codec";
import { jsonBytes } from "./inspector.js";

// Conformance case 5: a recipients request is smaller than the legacy one for the same delivery,
// and grows by the device IDs only. The inspector says so next to every newer-format request.

/** "recipients: 211 B; the same delivery as legacy: 530 B (2.5x)", or undefined for legacy. */
export function compareWithLegacy(data: unknown): string | undefined {
  const decoded = decodeSendRequest(data);
  if (decoded._tag === "Left") {
    return `not a valid send_to_device request: ${decoded.left.map((i) => `${i.path}: ${i.message}`).join("; ")}`;
  }
  const request = decoded.right;
  const devices = countRecipients(normalize(request));
  if (request.format === "legacy") {
    return `legacy: the content is repeated for each of ${devices} device${devices === 1 ? "" : "s"}`;
  }
  // A scoped request has no legacy form; compare the delivery without the scope.
  const { scope: _scope, ...unscoped } = normalize(request);
  const legacy = toLegacyRequest(unscoped, { encryptedByDefault: true });
  if (legacy._tag === "Left") return undefined;
  const ours = jsonBytes(data);
  const theirs = jsonBytes(encodeSendRequest(legacy.right));
  return `${request.format}: ${ours} B for ${devices} device${devices === 1 ? "" : "s"}; the same delivery in the legacy format: ${theirs} B (${(theirs / ours).toFixed(2)}x)`;
}

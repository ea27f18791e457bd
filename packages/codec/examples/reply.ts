// The README's reply example, type-checked with the package (`pnpm typecheck`).
import {
  type DeliveryFailures,
  decodeSendToDeviceReply,
  errorReply,
  formatIssues,
  partialReply,
  readScope,
  type SendToDeviceReplyWire,
} from "@widget-todevice/codec";

/** Host side: the reply to a send, from what the driver found. */
export function replyFor(failures: DeliveryFailures, refused?: string): SendToDeviceReplyWire {
  return refused === undefined ? partialReply(failures) : errorReply(refused, { failures });
}

/** Widget side: what a host's reply means. A malformed reply is never a success. */
export function readReply(data: unknown): string {
  const reply = decodeSendToDeviceReply(data);
  if (reply._tag === "Left") return `malformed reply: ${formatIssues(reply.left)}`;
  switch (reply.right.kind) {
    case "success":
      return "every device got it";
    case "partial":
      return `not reached: ${JSON.stringify(reply.right.failures)}`;
    case "error":
      return `refused: ${reply.right.error.message}`;
  }
}

/** Widget side: whether a received content was stamped for this room (sections 3.3 and 7). */
export function isForRoom(content: unknown, roomId: string): boolean {
  return readScope(content)?.room_id === roomId;
}

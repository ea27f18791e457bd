// The README's example, type-checked with the package (`pnpm typecheck`).
import { decodeSendRequest, formatIssues, normalize } from "@widget-todevice/codec";

/** What a host does with the `data` of a widget's `send_to_device` request. */
export function handleSendToDevice(
  data: unknown,
  reply: (response: object) => void,
  send: (
    type: string,
    recipients: Readonly<Record<string, ReadonlyArray<string>>>,
    content: object,
  ) => void,
): void {
  const result = decodeSendRequest(data); // any of the three formats
  if (result._tag === "Left") {
    // Every issue says where and what, e.g.
    // recipient_devices["@bob:example.org"][1]: device ID must be a string, not a number
    reply({ error: { message: formatIssues(result.left) } });
    return;
  }
  // One content and every device that receives it, whatever the format was.
  for (const group of normalize(result.right).groups) {
    send(result.right.type, group.recipients, group.content);
  }
  reply({});
}

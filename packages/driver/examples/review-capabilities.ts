// The README's capability review, type-checked with the package (`pnpm typecheck`).
import { reviewToDeviceCapabilities } from "@widget-todevice/driver";

/** The lines a host's permission prompt shows for what a widget requested. */
export function promptLines(requested: Set<string>): string[] {
  const { grantable, refused, others } = reviewToDeviceCapabilities(requested);
  return [
    // "Send `org.example.ping` messages to any of your contacts' devices (from your account,
    // not only in this room)": to-device grants are account-wide.
    ...grantable.map((request) => `Allow? ${request.description}`),
    // Reserved types and malformed to-device capabilities: never approved, with the reason.
    ...refused.map(({ capability, reason }) => `Not allowed: ${capability} (${reason})`),
    // Everything that is not to-device is for the host to decide.
    ...others.map((capability) => `Decided by this host: ${capability}`),
  ];
}

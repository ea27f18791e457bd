import {
  type Direction,
  formatIssues,
  isReservedType,
  parseCapability,
} from "@widget-todevice/codec";

// Section 1: to-device capabilities are account-wide, exact-typed, and never cover reserved types.

/** A to-device capability the user may grant, with words for the permission prompt. */
export interface ToDeviceCapabilityRequest {
  readonly capability: string;
  readonly direction: Direction;
  readonly type: string;
  /** An honest, account-wide description: to-device traffic is not bound to a room. */
  readonly description: string;
}

/** A to-device capability no one may grant, with a reason the host can show. */
export interface RefusedToDeviceCapability {
  readonly capability: string;
  readonly reason: string;
}

export interface ToDeviceCapabilityReview {
  /** To-device capabilities to ask the user about (or approve by host policy). */
  readonly grantable: ReadonlyArray<ToDeviceCapabilityRequest>;
  /** Reserved types and malformed to-device capabilities: never approve these. */
  readonly refused: ReadonlyArray<RefusedToDeviceCapability>;
  /** Everything else the widget asked for; not this helper's business. */
  readonly others: ReadonlyArray<string>;
}

// Both spellings of both directions; anything else is another kind of capability.
const TO_DEVICE_CAPABILITY = /^(?:org\.matrix\.msc3819|m)\.(?:send|receive)\.to_device:/;

/** "Send `org.example.ping` messages to any of your contacts' devices (...)". */
export function describeToDeviceCapability(direction: Direction, type: string): string {
  return direction === "send"
    ? `Send \`${type}\` messages to any of your contacts' devices (from your account, not only in this room)`
    : `Receive \`${type}\` messages sent to this device by anyone (from your account, not only in this room)`;
}

function reservedReason(type: string): string {
  return `\`${type}\` is reserved for your client's own encryption keys and device verification; no widget may send or receive it`;
}

/** Sorts requested capabilities into grantable and refused to-device ones, and the rest. */
export function reviewToDeviceCapabilities(requested: Iterable<string>): ToDeviceCapabilityReview {
  const grantable: ToDeviceCapabilityRequest[] = [];
  const refused: RefusedToDeviceCapability[] = [];
  const others: string[] = [];
  for (const capability of requested) {
    if (typeof capability !== "string" || !TO_DEVICE_CAPABILITY.test(capability)) {
      others.push(capability);
      continue;
    }
    const parsed = parseCapability(capability);
    if (parsed._tag === "Left") {
      refused.push({ capability, reason: formatIssues(parsed.left) });
    } else if (isReservedType(parsed.right.type)) {
      refused.push({ capability, reason: reservedReason(parsed.right.type) });
    } else {
      const { direction, type } = parsed.right;
      grantable.push({
        capability,
        direction,
        type,
        description: describeToDeviceCapability(direction, type),
      });
    }
  }
  return { grantable, refused, others };
}

/** Whether `capability` is a well-formed to-device capability for a type that is not reserved. */
export function isGrantableToDeviceCapability(capability: string): boolean {
  const parsed = parseCapability(capability);
  return parsed._tag === "Right" && !isReservedType(parsed.right.type);
}

/**
 * For `WidgetDriver.validateCapabilities`: the to-device capabilities to approve. `approve` is
 * asked about each grantable one (a prompt, a host allow-list); reserved and malformed ones are
 * never approved, whatever it answers. Merge the result with the host's other approvals.
 */
export async function validateToDeviceCapabilities(
  requested: Iterable<string>,
  approve: (request: ToDeviceCapabilityRequest) => boolean | Promise<boolean>,
): Promise<Set<string>> {
  const { grantable } = reviewToDeviceCapabilities(requested);
  const approved = new Set<string>();
  for (const request of grantable) {
    if ((await approve(request)) === true) approved.add(request.capability);
  }
  return approved;
}

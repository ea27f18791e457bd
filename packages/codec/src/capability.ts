import type { CodecIssue } from "./codec-issue.js";
import * as E from "./either.js";
import { eventTypeProblem, isEventType } from "./matrix-ids.js";

// Section 1: one capability per event type and direction, in two spellings.

export type Direction = "send" | "receive";

/** `unstable` is `org.matrix.msc3819.*` (what matrix-widget-api requests); `stable` is `m.*`. */
export type CapabilitySpelling = "unstable" | "stable";

export interface ToDeviceCapability {
  readonly direction: Direction;
  /** The exact event type: capabilities never hold wildcards. */
  readonly type: string;
  readonly spelling: CapabilitySpelling;
}

const PREFIXES: ReadonlyArray<readonly [string, Direction, CapabilitySpelling]> = [
  ["org.matrix.msc3819.send.to_device:", "send", "unstable"],
  ["org.matrix.msc3819.receive.to_device:", "receive", "unstable"],
  ["m.send.to_device:", "send", "stable"],
  ["m.receive.to_device:", "receive", "stable"],
];

/**
 * Parses a to-device capability in either spelling. Anything else (another capability, a
 * wildcard, an invalid type) is `Left`, with the reason.
 */
export function parseCapability(
  capability: unknown,
): E.Either<ReadonlyArray<CodecIssue>, ToDeviceCapability> {
  if (typeof capability !== "string") {
    return E.left([{ path: "", code: "wrong_type", message: "a capability must be a string" }]);
  }
  for (const [prefix, direction, spelling] of PREFIXES) {
    if (!capability.startsWith(prefix)) continue;
    const type = capability.slice(prefix.length);
    if (type.includes("*")) {
      return E.left([
        {
          path: "",
          code: "invalid_value",
          message: `${JSON.stringify(capability)}: to-device capabilities name one exact event type; wildcards are not supported`,
        },
      ]);
    }
    if (!isEventType(type)) {
      return E.left([
        {
          path: "",
          code: "invalid_value",
          message: `${JSON.stringify(capability)}: ${eventTypeProblem(type)}`,
        },
      ]);
    }
    return E.right({ direction, type, spelling });
  }
  return E.left([
    {
      path: "",
      code: "invalid_value",
      message: `${JSON.stringify(capability)} is not a to-device capability`,
    },
  ]);
}

/** The capability string for `direction` and `type`; unstable spelling unless asked otherwise. */
export function formatCapability(
  direction: Direction,
  type: string,
  options: { readonly spelling?: CapabilitySpelling } = {},
): string {
  const namespace = options.spelling === "stable" ? "m" : "org.matrix.msc3819";
  return `${namespace}.${direction}.to_device:${type}`;
}

/** Both spellings of one capability: what a host checks when either may have been granted. */
export function capabilitySpellings(direction: Direction, type: string): readonly [string, string] {
  return [
    formatCapability(direction, type, { spelling: "unstable" }),
    formatCapability(direction, type, { spelling: "stable" }),
  ];
}

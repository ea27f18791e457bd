import {
  capabilitySpellings,
  type Direction,
  formatCapability,
  isEventType,
  isReservedType,
} from "@widget-todevice/codec";
import type { WidgetApi } from "matrix-widget-api";
import { ToDeviceCapabilityError } from "./errors.js";

// Section 1: one capability per event type and direction; reserved types are never granted,
// so the widget does not ask for them.

/** Refuses, before anything is asked, types no host may grant. */
export function checkDeclaredTypes(types: ReadonlyArray<string>): void {
  const invalid = types.filter((type) => !isEventType(type) || type.includes("*"));
  if (invalid.length > 0) {
    throw new ToDeviceCapabilityError(
      `not event types: ${invalid.map((type) => JSON.stringify(type)).join(", ")} (to-device capabilities name one exact type, no wildcards)`,
      "invalid_type",
      invalid,
    );
  }
  const reserved = types.filter(isReservedType);
  if (reserved.length > 0) {
    throw new ToDeviceCapabilityError(
      `reserved for the client's own key management and verification, never granted to a widget: ${reserved.join(", ")}`,
      "reserved_type",
      reserved,
    );
  }
}

/**
 * Queues the capabilities for the host's next `capabilities` request. Only the unstable
 * spelling is asked: it is the one every MSC3819 host knows, and an unknown stable twin would
 * only clutter a permission prompt.
 */
export function requestToDeviceCapabilities(
  api: WidgetApi,
  send: ReadonlyArray<string>,
  receive: ReadonlyArray<string>,
): void {
  const capabilities = [
    ...send.map((type) => formatCapability("send", type)),
    ...receive.map((type) => formatCapability("receive", type)),
  ];
  let negotiated = false;
  try {
    api.requestCapabilities(capabilities);
    // Before the negotiation `hasCapability` answers from the requested list; after it, from
    // the host's `approved` list, which cannot name what was only asked for now.
    negotiated = capabilities.some((capability) => !api.hasCapability(capability));
  } catch {
    negotiated = true;
  }
  if (negotiated) {
    throw new ToDeviceCapabilityError(
      "capabilities were already negotiated: create the to-device widget before the widget API starts",
      "already_negotiated",
      [...send, ...receive],
    );
  }
}

/** Whether the host granted `direction` for `type`, in either spelling. */
export function isGranted(api: WidgetApi, direction: Direction, type: string): boolean {
  return capabilitySpellings(direction, type).some((capability) => api.hasCapability(capability));
}

// Section 1: the client's own key-management and verification traffic is never granted.

/**
 * Event types no widget may send or receive, in either direction, whatever the user or the
 * host's configuration says. Types starting with one of `RESERVED_TYPE_PREFIXES` are reserved too.
 */
export const RESERVED_TYPES: ReadonlyArray<string> = [
  "m.room.encrypted",
  "m.room_key",
  "m.room_key_request",
  "m.forwarded_room_key",
  "m.room_key.withheld",
  "org.matrix.room_key.withheld",
  "m.room_key_bundle",
  "io.element.msc4268.room_key_bundle",
  "m.secret.request",
  "m.secret.send",
  "m.dummy",
  "m.key.verification.request",
  "m.key.verification.ready",
  "m.key.verification.start",
  "m.key.verification.cancel",
  "m.key.verification.accept",
  "m.key.verification.key",
  "m.key.verification.mac",
  "m.key.verification.done",
  "org.matrix.msc3814.dehydrated_device",
];

/** Whole families: every verification step, including ones added after this list was written. */
export const RESERVED_TYPE_PREFIXES: ReadonlyArray<string> = [
  "m.key.verification.",
  "org.matrix.msc3814.",
  "m.secret.",
];

const RESERVED = new Set(RESERVED_TYPES);

/** Whether `type` is reserved for the client itself (section 1). */
export function isReservedType(type: string): boolean {
  if (RESERVED.has(type)) return true;
  return RESERVED_TYPE_PREFIXES.some((prefix) => type.startsWith(prefix));
}

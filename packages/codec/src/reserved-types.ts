// Section 1: the client's own key-management and verification traffic is never granted.

/** One row of the reserved-type table: a type (or a family of them), where it comes from, why. */
export interface ReservedType {
  /** The event type, or with `match: "prefix"` the start shared by every type of a family. */
  readonly type: string;
  /** `exact`: only `type` itself; `prefix`: every type that starts with `type`. */
  readonly match: "exact" | "prefix";
  /** Where the type is defined (the Matrix spec or an MSC) and which client library handles it. */
  readonly source: string;
  /** What the client uses it for: why a widget must never send or receive it. */
  readonly reason: string;
}

const SPEC_E2EE = "Matrix spec, end-to-end encryption; matrix-sdk-crypto-wasm";
const SPEC_VERIFICATION = "Matrix spec, device verification; matrix-sdk-crypto-wasm";

/**
 * Event types no widget may send or receive, in either direction, whatever the user or the
 * host's configuration says. `packages/driver/test/reserved-types-coverage.test.ts` reads the
 * pinned matrix-js-sdk and matrix-sdk-crypto-wasm and fails on any to-device type they handle
 * that is neither here nor deliberately allowed there.
 */
export const RESERVED_TYPE_TABLE: ReadonlyArray<ReservedType> = [
  {
    type: "m.room.encrypted",
    match: "exact",
    source: SPEC_E2EE,
    reason: "the Olm envelope every encrypted to-device message travels in",
  },
  { type: "m.room_key", match: "exact", source: SPEC_E2EE, reason: "shares a Megolm room key" },
  {
    type: "m.room_key_request",
    match: "exact",
    source: SPEC_E2EE,
    reason: "asks another device for a room key",
  },
  {
    type: "m.forwarded_room_key",
    match: "exact",
    source: SPEC_E2EE,
    reason: "answers a room key request with the key",
  },
  {
    type: "m.room_key.withheld",
    match: "exact",
    source: SPEC_E2EE,
    reason: "tells a device why it will not get a room key",
  },
  {
    type: "org.matrix.room_key.withheld",
    match: "exact",
    source: "MSC2399 (unstable name of `m.room_key.withheld`)",
    reason: "tells a device why it will not get a room key",
  },
  {
    type: "m.room_key_bundle",
    match: "exact",
    source: "MSC4268; matrix-sdk-crypto-wasm, matrix-js-sdk",
    reason: "shares the keys of a room's past messages with an invited user",
  },
  {
    type: "io.element.msc4268.room_key_bundle",
    match: "exact",
    source: "MSC4268 (unstable name); matrix-sdk-crypto-wasm, matrix-js-sdk",
    reason: "shares the keys of a room's past messages with an invited user",
  },
  {
    type: "m.secret.request",
    match: "exact",
    source: "Matrix spec, secret sharing; matrix-sdk-crypto-wasm",
    reason: "asks the user's other devices for a secret (cross-signing or backup key)",
  },
  {
    type: "m.secret.send",
    match: "exact",
    source: "Matrix spec, secret sharing; matrix-sdk-crypto-wasm",
    reason: "sends a secret (cross-signing or backup key) to the user's own device",
  },
  {
    type: "m.secret.",
    match: "prefix",
    source: "Matrix spec, secret sharing (and MSC4385's stable `m.secret.push`)",
    reason: "every secret-sharing message, including ones added after this table was written",
  },
  {
    type: "io.element.msc4385.secret.push",
    match: "exact",
    source: "MSC4385 (unstable name), secret push; matrix-sdk-crypto-wasm, matrix-js-sdk",
    reason: "pushes a secret (the backup key) to the user's verified devices unasked",
  },
  {
    type: "m.dummy",
    match: "exact",
    source: SPEC_E2EE,
    reason: "opens a new Olm session to recover a broken one",
  },
  ...[
    "m.key.verification.request",
    "m.key.verification.ready",
    "m.key.verification.start",
    "m.key.verification.cancel",
    "m.key.verification.accept",
    "m.key.verification.key",
    "m.key.verification.mac",
    "m.key.verification.done",
  ].map(
    (type): ReservedType => ({
      type,
      match: "exact",
      source: SPEC_VERIFICATION,
      reason: "a step of verifying a device or user",
    }),
  ),
  {
    type: "m.key.verification.",
    match: "prefix",
    source: SPEC_VERIFICATION,
    reason: "every verification step, including ones added after this table was written",
  },
  {
    type: "org.matrix.msc3814.dehydrated_device",
    match: "exact",
    source: "MSC3814, dehydrated devices; matrix-sdk-crypto-wasm",
    reason: "sets up the account's offline device that receives keys while no client runs",
  },
  {
    type: "org.matrix.msc3814.",
    match: "prefix",
    source: "MSC3814, dehydrated devices; matrix-sdk-crypto-wasm",
    reason: "every type of the dehydrated-device proposal",
  },
];

/** The exact types of `RESERVED_TYPE_TABLE`. */
export const RESERVED_TYPES: ReadonlyArray<string> = RESERVED_TYPE_TABLE.filter(
  (row) => row.match === "exact",
).map((row) => row.type);

/** The families of `RESERVED_TYPE_TABLE`: every type starting with one of these is reserved. */
export const RESERVED_TYPE_PREFIXES: ReadonlyArray<string> = RESERVED_TYPE_TABLE.filter(
  (row) => row.match === "prefix",
).map((row) => row.type);

const RESERVED = new Set(RESERVED_TYPES);

/** Whether `type` is reserved for the client itself (section 1). */
export function isReservedType(type: string): boolean {
  if (RESERVED.has(type)) return true;
  return RESERVED_TYPE_PREFIXES.some((prefix) => type.startsWith(prefix));
}

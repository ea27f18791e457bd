/**
 * What can happen to a host, as data: fast-check generates sequences of these steps, the model
 * (`model-run.ts`) carries them out against real objects and checks the invariants after each.
 */
import fc from "fast-check";

export const ROOM = "!r1:example.org";
export const OTHER_ROOM = "!r2:example.org";
export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";
export const CAROL = "@carol:example.org";
/** A user with no device at all. */
export const DAVE = "@dave:example.org";

/** The room widget sends this type, the global widget `GLOBAL_PING`: so the wire tells them apart. */
export const PING = "org.example.ping";
export const GLOBAL_PING = "org.example.global_ping";
/** Requested by the widgets, refused by the host. */
export const DENIED = "org.example.denied";
/** Never requested. */
export const UNREQUESTED = "org.example.unrequested";

/**
 * The reserved types of protocol §1, written out here rather than taken from the codec, so the
 * suite checks the codec's list instead of trusting it. MSC4385's secret push is key traffic too.
 */
export const RESERVED = [
  "m.room.encrypted",
  "m.room_key",
  "m.room_key_request",
  "m.forwarded_room_key",
  "m.room_key.withheld",
  "org.matrix.room_key.withheld",
  "m.room_key_bundle",
  "io.element.msc4268.room_key_bundle",
  "org.matrix.msc3814.dehydrated_device",
  "m.secret.request",
  "m.secret.send",
  "m.dummy",
  "m.key.verification.request",
  "m.key.verification.start",
  "m.key.verification.mac",
  "m.key.verification.done",
  "io.element.msc4385.secret.push",
] as const;

export function isReserved(type: string): boolean {
  return (
    (RESERVED as ReadonlyArray<string>).includes(type) ||
    type.startsWith("m.key.verification.") ||
    type.startsWith("m.secret.") ||
    type.startsWith("org.matrix.msc3814.")
  );
}

/** Index of a widget: 0 is bound to `ROOM` (whose encryption flips), 1 is a global widget. */
export type WidgetIndex = 0 | 1;

/** One recipient entry a widget may address. */
export type Address = readonly [user: string, device: string];
export const ADDRESSES: ReadonlyArray<Address> = [
  [BOB, "BOBDEV"],
  [BOB, "BOBPHONE"],
  [BOB, "*"],
  [BOB, "NOPE"],
  [CAROL, "CAROLDEV"],
  // Has no one-time keys: no Olm session can be made with it.
  [CAROL, "CAROLOLD"],
  [CAROL, "*"],
  [DAVE, "*"],
];

/** `own` is the widget's own type (PING or GLOBAL_PING). */
export type TypeChoice = "own" | "denied" | "unrequested" | { readonly reserved: string };

export interface SendSpec {
  readonly format: "legacy" | "recipients" | "scoped";
  readonly type: TypeChoice;
  /** `undefined`: the request has no `encrypted` field (malformed for legacy). */
  readonly encrypted: boolean | undefined;
  readonly to: ReadonlyArray<Address>;
  /** Content past the homeserver's per-message cap. */
  readonly large: boolean;
}

/** Requests no host may answer with anything but an error. */
export type HostileKind =
  | "no_data"
  | "data_string"
  | "type_number"
  | "bad_user_id"
  | "star_mixed"
  | "duplicate_device"
  | "both_formats"
  | "unknown_field"
  | "deep_content"
  | "scope_room_id"
  | "content_scope"
  | "encrypted_string"
  | "oversized_string"
  | "oversized_nulls"
  | "oversized_numbers";

export interface IncomingSpec {
  /**
   * `olm`: encrypted by the sender's device for Alice's; `cleartext`; `forged_sender`: Olm from
   * Bob's device but the homeserver names Carol; `forged_info`: the transport reports decryption
   * facts of another user than the event's sender.
   */
  readonly via: "olm" | "cleartext" | "forged_sender" | "forged_info";
  readonly from: typeof BOB | typeof CAROL;
  readonly type: "ping" | "global_ping" | "denied" | { readonly reserved: string };
  readonly scope: "none" | "own_room" | "other_room";
  /**
   * `org.matrix.msgid` from a small pool, so duplicates happen; `long`: a 60 KB msgid of its
   * own (what de-duplication memory must bound by bytes).
   */
  readonly msgid: string | undefined;
  /** Claims on the wire that must not be believed: `encrypted`, sender facts, envelope fields. */
  readonly forged: boolean;
  /** Delivered this many times in a row (the same event). */
  readonly copies: 1 | 2;
}

export type Fault =
  | { readonly kind: "rate_limited"; readonly retryAfterMs: number | undefined }
  | { readonly kind: "http_error"; readonly status: number }
  | { readonly kind: "slow"; readonly delayMs: number }
  | { readonly kind: "connection_dropped"; readonly afterDelivery: boolean };

export type Step =
  | { readonly kind: "send"; readonly widget: WidgetIndex; readonly sends: ReadonlyArray<SendSpec> }
  | {
      /** Raw postMessages that all carry the same request ID. */
      readonly kind: "reused_id";
      readonly widget: WidgetIndex;
      readonly sends: ReadonlyArray<SendSpec>;
    }
  | { readonly kind: "hostile"; readonly widget: WidgetIndex; readonly hostile: HostileKind }
  | { readonly kind: "incoming"; readonly events: ReadonlyArray<IncomingSpec> }
  | { readonly kind: "flip_room_encryption" }
  | { readonly kind: "faults"; readonly faults: ReadonlyArray<Fault> }
  | { readonly kind: "detach"; readonly widget: WidgetIndex }
  /**
   * Attaches again (detaching first if attached); `early` arrive before the widget's formats are negotiated again. With
   * `flood`, one sender then sends 150 more before negotiation.
   */
  | {
      readonly kind: "reattach";
      readonly widget: WidgetIndex;
      readonly early: ReadonlyArray<IncomingSpec>;
      readonly flood: boolean;
    }
  | { readonly kind: "wait"; readonly ms: number };

/** The host's configuration for one run. */
export interface HostConfig {
  readonly policy: "strict" | "obey-widget";
  readonly allowGlobalCleartext: boolean;
  readonly roomEncrypted: boolean;
  /** Format identifiers the room widget advertises (the global one advertises all). */
  readonly roomWidgetFormats: "none" | "recipients" | "all";
  /**
   * `helper`: the host approves through `validateToDeviceCapabilities`; `careless`: it approves
   * whatever the widget asks (reserved types included), so only the driver stands in the way.
   */
  readonly approval: "helper" | "careless";
}

const widget = fc.constantFrom<WidgetIndex>(0, 1);
const reservedType = fc.constantFrom(...RESERVED).map((reserved) => ({ reserved }));

const sendSpec: fc.Arbitrary<SendSpec> = fc.record({
  format: fc.constantFrom("legacy", "recipients", "recipients", "scoped"),
  type: fc.oneof(
    { weight: 8, arbitrary: fc.constant<TypeChoice>("own") },
    { weight: 1, arbitrary: fc.constantFrom<TypeChoice>("denied", "unrequested") },
    { weight: 2, arbitrary: reservedType },
  ),
  encrypted: fc.constantFrom(true, false, undefined),
  to: fc.subarray([...ADDRESSES], { minLength: 0, maxLength: 5 }),
  // Rare, and shrinks to `false`.
  large: fc.nat(9).map((n) => n === 9),
});

const incomingSpec: fc.Arbitrary<IncomingSpec> = fc.record({
  via: fc.constantFrom("olm", "olm", "cleartext", "cleartext", "forged_sender", "forged_info"),
  from: fc.constantFrom(BOB, CAROL),
  type: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("ping" as const, "global_ping" as const) },
    { weight: 1, arbitrary: fc.constant("denied" as const) },
    { weight: 2, arbitrary: reservedType },
  ),
  scope: fc.constantFrom("none", "own_room", "own_room", "other_room"),
  msgid: fc.option(fc.constantFrom("m1", "m2", "m3", "long"), { nil: undefined }),
  forged: fc.boolean(),
  copies: fc.constantFrom<1 | 2>(1, 1, 2),
});

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({
    kind: fc.constant("rate_limited" as const),
    retryAfterMs: fc.option(fc.constantFrom(0, 300, 2_000), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant("http_error" as const), status: fc.constantFrom(500, 502, 400) }),
  fc.record({ kind: fc.constant("slow" as const), delayMs: fc.constantFrom(5, 200, 3_000) }),
  fc.record({ kind: fc.constant("connection_dropped" as const), afterDelivery: fc.boolean() }),
);

const hostile = fc.constantFrom<HostileKind>(
  "no_data",
  "data_string",
  "type_number",
  "bad_user_id",
  "star_mixed",
  "duplicate_device",
  "both_formats",
  "unknown_field",
  "deep_content",
  "scope_room_id",
  "content_scope",
  "encrypted_string",
  "oversized_string",
  "oversized_nulls",
  "oversized_numbers",
);

export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      widget,
      sends: fc.array(sendSpec, { minLength: 1, maxLength: 1 }),
    }),
  },
  {
    // A burst: many requests posted at once.
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      widget,
      sends: fc.array(sendSpec, { minLength: 2, maxLength: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reused_id" as const),
      widget,
      sends: fc.array(sendSpec, { minLength: 2, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("hostile" as const), widget, hostile }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("incoming" as const),
      events: fc.array(incomingSpec, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "flip_room_encryption" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("faults" as const),
      faults: fc.array(fault, { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("detach" as const), widget }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("reattach" as const),
      widget,
      early: fc.array(incomingSpec, { maxLength: 3 }),
      // The flood has a property of its own (`floodStepArbitrary`).
      flood: fc.constant(false),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      ms: fc.constantFrom(0, 1, 10, 250, 1_000, 5_000, 30_000),
    }),
  },
);

/** A reattach whose held messages are followed by one sender's flood of 150. */
export const floodStepArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant("reattach" as const),
  widget,
  early: fc.array(incomingSpec, { minLength: 1, maxLength: 3 }),
  flood: fc.constant(true),
});

export const hostConfigArbitrary: fc.Arbitrary<HostConfig> = fc.record({
  policy: fc.constantFrom("strict", "strict", "strict", "obey-widget"),
  allowGlobalCleartext: fc.boolean(),
  roomEncrypted: fc.boolean(),
  roomWidgetFormats: fc.constantFrom("none", "recipients", "all"),
  approval: fc.constantFrom("helper", "careless"),
});

// The io-ts laws for every codec the package exports, with fast-check:
// `is` agrees with `decode`, `decode(encode(a))` gives `a` back, and nothing throws, whatever
// the input (proxies with throwing traps included).
// `FC_SEED=<seed> pnpm exec vitest run test/codec-laws.test.ts` replays a reported failure.
import fc from "fast-check";
import * as t from "io-ts";
import { describe, expect, it } from "vitest";
import * as codec from "../src/index.js";
import * as arb from "./arbitraries.js";

const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const runs = { numRuns: 300, ...seed };

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const reason = fc.oneof(
  fc.constantFrom(...codec.KNOWN_DELIVERY_FAILURE_REASONS),
  fc.integer({ min: 400, max: 599 }).map((status) => `http_${status}`),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const failures = fc
  .dictionary(
    arb.userId,
    fc.dictionary(fc.oneof(arb.deviceId, fc.constant("*")), reason, { minKeys: 1, maxKeys: 3 }),
    { minKeys: 1, maxKeys: 3 },
  )
  .map(plain);
/** matrix-rust-sdk's form: user ID -> [device ID, ...]. */
const listedFailuresWire = fc.dictionary(
  arb.userId,
  fc.uniqueArray(fc.oneof(arb.deviceId, fc.constant("*")), { minLength: 1, maxLength: 3 }),
  { minKeys: 1, maxKeys: 3 },
);
const matrixApiError = fc
  .record({
    http_status: fc.integer({ min: 400, max: 599 }),
    http_headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
    url: fc.webUrl(),
    response: fc.record({ errcode: fc.string(), error: fc.string() }),
  })
  .map(plain);
const sendError = fc
  .record(
    { message: fc.string(), failures, matrix_api_error: matrixApiError },
    { requiredKeys: ["message"] },
  )
  .map(plain);
const reply = fc.oneof(
  fc.constant({ kind: "success" as const }),
  failures.map((value) => ({ kind: "partial" as const, failures: value })),
  sendError.map((value) => ({ kind: "error" as const, error: value })),
);
const toWidgetMessage = fc
  .oneof(
    fc.record(
      {
        type: arb.eventType,
        sender: arb.userId,
        encrypted: fc.constant(true),
        content: arb.content,
        sender_device: arb.deviceId,
        sender_verified: fc.boolean(),
      },
      { requiredKeys: ["type", "sender", "encrypted", "content"] },
    ),
    fc.record({
      type: arb.eventType,
      sender: arb.userId,
      encrypted: fc.constant(false),
      content: arb.content,
    }),
  )
  .map(plain);
const scope = fc
  .record({ room_id: fc.string({ minLength: 1 }), id: fc.string() }, { requiredKeys: ["room_id"] })
  .map(plain);

const tagged =
  <F extends string>(format: F) =>
  (wire: object): { format: F } => ({ format, ...wire });

/** Moves a decoded value's tag back off: the wire form the tag was decoded from. */
type Untag = (a: Record<string, unknown>) => unknown;
const untagRequest: Untag = ({ format: _format, ...wire }) => wire;
const untagReply: Untag = (a) =>
  a.kind === "partial" ? { failures: a.failures } : a.kind === "error" ? { error: a.error } : {};

interface Law {
  /** Values of the codec's type. */
  readonly valid: fc.Arbitrary<unknown>;
  /** For a codec whose decoded values carry a tag the wire does not: the tag and its removal. */
  readonly tag?: { readonly key: string; readonly untag: Untag };
  /**
   * For a codec that also decodes a wire form that is not a value of its type (matrix-rust-sdk's
   * list form of `failures`): whether `x` holds that form, of which `is` says false.
   */
  readonly wireOnly?: (x: unknown) => boolean;
  /** Inputs in that form, for `is` to be asked about. */
  readonly wire?: fc.Arbitrary<unknown>;
}

const fieldOf = (x: unknown, key: string): unknown =>
  typeof x === "object" && x !== null ? (x as Record<string, unknown>)[key] : undefined;
/** Whether some user's failed devices come as a list. */
const listedFailures = (failures: unknown): boolean =>
  typeof failures === "object" &&
  failures !== null &&
  !Array.isArray(failures) &&
  Object.values(failures).some(Array.isArray);

const request = { key: "format", untag: untagRequest };
const LAWS: Readonly<Record<string, Law>> = {
  SendRequestC: {
    valid: fc.oneof(
      arb.legacyWire.map(tagged("legacy")),
      arb.recipientsWire.map(tagged("recipients")),
      arb.scopedWire.map(tagged("scoped")),
    ),
    tag: request,
  },
  LegacySendRequestC: { valid: arb.legacyWire.map(tagged("legacy")), tag: request },
  RecipientsSendRequestC: { valid: arb.recipientsWire.map(tagged("recipients")), tag: request },
  ScopedSendRequestC: { valid: arb.scopedWire.map(tagged("scoped")), tag: request },
  ToWidgetMessageC: { valid: toWidgetMessage },
  ContentScopeC: { valid: scope },
  DeliveryFailureReasonC: { valid: reason },
  DeliveryFailuresC: { valid: failures, wireOnly: listedFailures, wire: listedFailuresWire },
  MatrixApiErrorC: { valid: matrixApiError },
  SendToDeviceErrorC: {
    valid: sendError,
    wireOnly: (x) => listedFailures(fieldOf(x, "failures")),
    wire: listedFailuresWire.map((failures) => ({ message: "m", failures })),
  },
  SendToDeviceReplyC: {
    valid: reply,
    tag: { key: "kind", untag: untagReply },
    wireOnly: (x) =>
      listedFailures(fieldOf(x, "failures")) ||
      listedFailures(fieldOf(fieldOf(x, "error"), "failures")),
    wire: listedFailuresWire.map((failures) => ({ kind: "partial", failures })),
  },
};

type AnyCodec = t.Type<unknown, unknown, unknown>;
const exported: ReadonlyArray<[string, AnyCodec]> = Object.entries(codec as Record<string, unknown>)
  .filter(([, value]) => value instanceof t.Type)
  .map(([name, value]) => [name, value as AnyCodec]);

/** A JSON value with one place changed: a field replaced, removed or added, or a tag changed. */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  const places: Array<{ parent: Record<string, unknown> | unknown[]; key: string }> = [];
  const collect = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    for (const key of Object.keys(node)) {
      places.push({ parent: node as Record<string, unknown>, key });
      collect((node as Record<string, unknown>)[key]);
    }
  };
  return fc
    .tuple(
      fc.nat(),
      fc.constantFrom("replace", "remove", "add", "retag"),
      fc.oneof(arb.anyValue, fc.string(), fc.constant("")),
    )
    .map(([pick, how, replacement]) => {
      const copy = structuredClone(value);
      places.length = 0;
      collect(copy);
      const place = places[pick % Math.max(places.length, 1)];
      if (typeof copy !== "object" || copy === null || place === undefined) return replacement;
      const parent = place.parent as Record<string, unknown>;
      if (how === "replace") parent[place.key] = replacement;
      else if (how === "remove") delete parent[place.key];
      else if (how === "add") parent.unexpected = replacement;
      else (copy as Record<string, unknown>)[pick % 2 === 0 ? "format" : "kind"] = replacement;
      return copy;
    });
}

/**
 * What `is` must say of `x`: that decoding its wire form gives a value with the same tag, and
 * that `x` is not in a wire-only form.
 */
function decodes(c: AnyCodec, law: Law, x: unknown): boolean {
  if (law.wireOnly?.(x) === true) return false;
  if (law.tag === undefined) return c.decode(x)._tag === "Right";
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const tag = (x as Record<string, unknown>)[law.tag.key];
  if (typeof tag !== "string") return false;
  const result = c.decode(law.tag.untag(x as Record<string, unknown>));
  return result._tag === "Right" && (result.right as Record<string, unknown>)[law.tag.key] === tag;
}

const TRAPS = ["get", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf", "has"] as const;

/**
 * How to build a proxy whose traps throw (or throw values that cannot be printed), or a revoked
 * one. The proxy itself is built inside each property: fast-check inspects generated values.
 */
const hostileSpec = fc.record({
  traps: fc.subarray([...TRAPS], { minLength: 1 }),
  target: fc.constantFrom<() => object>(
    () => ({}),
    () => [],
    () => ({ type: "m.test" }),
  ),
  unprintable: fc.boolean(),
  revoked: fc.boolean(),
});
type HostileSpec = typeof hostileSpec extends fc.Arbitrary<infer S> ? S : never;

function hostile(spec: HostileSpec): object {
  const thrown = spec.unprintable
    ? {
        toString() {
          throw new Error("unprintable");
        },
      }
    : new Error("trap");
  const handler: ProxyHandler<object> = {};
  for (const trap of spec.traps) {
    (handler as Record<string, () => never>)[trap] = () => {
      throw thrown;
    };
  }
  if (!spec.revoked) return new Proxy(spec.target(), handler);
  const { proxy, revoke } = Proxy.revocable(spec.target(), handler);
  revoke();
  return proxy;
}

/** A hostile value, or a valid value (changed in one place) with a hostile proxy as one part. */
function hostileInput(valid: fc.Arbitrary<unknown>): fc.Arbitrary<() => unknown> {
  return fc.oneof(
    hostileSpec.map((spec) => () => hostile(spec)),
    fc.tuple(valid.chain(mutate), hostileSpec).map(([mutated, spec]) => () => {
      // Only plain objects and arrays take a part (a typed array would read the proxy itself).
      const copy = structuredClone(mutated);
      if (typeof copy !== "object" || copy === null) return hostile(spec);
      if (!Array.isArray(copy) && Object.getPrototypeOf(copy) !== Object.prototype) {
        return hostile(spec);
      }
      const keys = Object.keys(copy);
      Object.defineProperty(copy, keys[keys.length - 1] ?? "x", {
        value: hostile(spec),
        enumerable: true,
      });
      return copy;
    }),
  );
}

describe("every exported codec", () => {
  it("has laws here, so a new codec cannot skip them", () => {
    expect(exported.map(([name]) => name).sort()).toEqual(Object.keys(LAWS).sort());
  });

  describe.each(exported)("%s", (name, c) => {
    const law = LAWS[name] as Law;
    const candidates = fc.oneof(
      law.valid,
      law.valid.chain(mutate),
      arb.anyValue,
      arb.requestShaped,
      ...(law.wire === undefined ? [] : [law.wire, law.wire.chain(mutate)]),
    );

    it("is(x) says whether x decodes, for valid and invalid x", () => {
      fc.assert(
        fc.property(candidates, (x) => {
          expect(c.is(x)).toBe(decodes(c, law, x));
        }),
        runs,
      );
    });

    it("decode(encode(a)) gives a back", () => {
      fc.assert(
        fc.property(law.valid, (a) => {
          expect(c.is(a)).toBe(true);
          const again = c.decode(c.encode(a));
          expect(again).toEqual({ _tag: "Right", right: a });
        }),
        runs,
      );
    });

    it("is and decode never throw, proxies with throwing traps included", () => {
      fc.assert(
        fc.property(hostileInput(law.valid), (input) => {
          const x = input();
          expect(typeof c.is(x)).toBe("boolean");
          const result = c.decode(x);
          expect(["Left", "Right"]).toContain(result._tag);
          if (result._tag === "Left")
            expect(codec.formatIssues(codec.issuesOf(result.left))).not.toBe("");
        }),
        runs,
      );
    });
  });

  it("the decode functions and readers answer hostile input too", () => {
    fc.assert(
      fc.property(hostileSpec, (spec) => {
        const x = hostile(spec);
        expect(codec.decodeSendRequest(x)._tag).toBe("Left");
        expect(codec.decodeToWidgetMessage(x)._tag).toBe("Left");
        // A proxy whose only trap is `has` reads as `{}`, a success: never an exception.
        expect(["Left", "Right"]).toContain(codec.decodeSendToDeviceReply(x)._tag);
        expect(codec.parseCapability(x)._tag).toBe("Left");
        expect(codec.readScope(x)).toBeUndefined();
        expect(codec.readScope({ scope: x })).toBeUndefined();
        expect(codec.isScopedTo(x, "!room:example.org")).toBe(false);
      }),
      runs,
    );
  });
});

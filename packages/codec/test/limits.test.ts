// The request byte limit of section 8 (`Limits.maxRequestBytes`): every part of the input
// counts, keys and literals included, and the walk stops at the limit.
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  type CodecIssue,
  DEFAULT_LIMITS,
  decodeSendRequest,
  decodeToWidgetMessage,
  type Limits,
} from "../src/index.js";
import * as arb from "./arbitraries.js";

const BOB = "@bob:example.org";
/** `FC_SEED=<seed> pnpm exec vitest run test/limits.test.ts` replays a reported failure. */
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const MIB = DEFAULT_LIMITS.maxRequestBytes;

const recipients = (content: unknown) => ({
  type: "org.example.ping",
  recipient_devices: { [BOB]: ["A"] },
  content,
});

function firstIssue(input: unknown, limits?: Partial<Limits>): CodecIssue | undefined {
  const result = decodeSendRequest(input, limits);
  return E.isLeft(result) ? result.left[0] : undefined;
}

/**
 * The documented measure: `JSON.stringify(value).length` with each escape sequence counted as
 * the one character it stands for (what each string adds beyond its length and two quotes).
 */
function requestBytes(value: unknown): number {
  let escapes = 0;
  const visit = (v: unknown): void => {
    if (typeof v === "string") escapes += JSON.stringify(v).length - v.length - 2;
    else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === "object" && v !== null) {
      for (const [key, inner] of Object.entries(v)) {
        if (inner === undefined) continue;
        visit(key);
        visit(inner);
      }
    }
  };
  visit(value);
  return (JSON.stringify(value) as string).length - escapes;
}

describe("every part of a request counts against the byte limit (section 8)", () => {
  it.each([
    ["a 2 MiB object key", () => ({ ["k".repeat(2 * MIB)]: null })],
    ["1,000,000 numbers", () => ({ n: new Array(1_000_000).fill(7) })],
    ["1,000,000 nulls", () => ({ n: new Array(1_000_000).fill(null) })],
    ["1,000,000 booleans", () => ({ n: new Array(1_000_000).fill(true) })],
    ["300,000 keys", () => Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [i, 0]))],
  ])("refuses content of %s with the default limit", (_, content) => {
    expect(firstIssue(recipients(content()))).toMatchObject({
      code: "limit_exceeded",
      message: `the request is larger than the limit of ${MIB} bytes`,
    });
  });

  it("refuses a 2 MiB device ID key in a legacy request", () => {
    const input = {
      type: "org.example.ping",
      encrypted: true,
      messages: { [BOB]: { ["D".repeat(2 * MIB)]: {} } },
    };
    const result = decodeSendRequest(input);
    expect(E.isLeft(result) && result.left.map((issue) => issue.code)).toContain("limit_exceeded");
  });

  it("refuses a request made of a 2 MiB field name", () => {
    expect(firstIssue({ ...recipients({}), ["f".repeat(2 * MIB)]: 1 })).toMatchObject({
      path: "",
      code: "limit_exceeded",
    });
  });

  it("counts exactly JSON.stringify's length when no string needs escaping", () => {
    const input = {
      type: "org.example.ping",
      encrypted: false,
      recipient_devices: { [BOB]: ["A", "B"], "@carol:example.org": ["*"] },
      content: { a: [1, -2.5, true, false, null, {}, [], "x"], b: { c: {} }, d: 1e21 },
      scope: { id: "org.example.app" },
    };
    const size = JSON.stringify(input).length;
    expect(E.isRight(decodeSendRequest(input, { maxRequestBytes: size }))).toBe(true);
    expect(firstIssue(input, { maxRequestBytes: size - 1 })?.code).toBe("limit_exceeded");
    const legacy = {
      type: "org.example.ping",
      encrypted: true,
      messages: { [BOB]: { A: { n: null }, B: {} }, "@carol:example.org": { "*": { t: true } } },
    };
    const legacySize = JSON.stringify(legacy).length;
    expect(E.isRight(decodeSendRequest(legacy, { maxRequestBytes: legacySize }))).toBe(true);
    expect(firstIssue(legacy, { maxRequestBytes: legacySize - 1 })?.code).toBe("limit_exceeded");
  });

  it("bounds a toWidget message's content the same way", () => {
    const message = {
      type: "org.example.ping",
      sender: BOB,
      encrypted: false,
      content: { n: new Array(1_000_000).fill(null) },
    };
    const result = decodeToWidgetMessage(message);
    expect(E.isLeft(result) && result.left[0]?.code).toBe("limit_exceeded");
  });
});

describe("the walk stops as soon as a limit is exceeded", () => {
  /** An array of `length` nulls that counts how many of its elements are read. */
  function countingNulls(length: number): { array: unknown[]; reads: () => number } {
    let reads = 0;
    const array = new Proxy(new Array(length).fill(null), {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    return { array, reads: () => reads };
  }

  it("reads no element of a million-element array once the budget is spent", () => {
    const { array, reads } = countingNulls(1_000_000);
    // 100 bytes of budget: the array's own punctuation already needs 1,000,001.
    expect(firstIssue(recipients({ n: array }), { maxRequestBytes: 100 })?.code).toBe(
      "limit_exceeded",
    );
    expect(reads()).toBe(0);
  });

  it("reads only the elements that fit under the default limit", () => {
    const { array, reads } = countingNulls(1_000_000);
    expect(firstIssue(recipients({ n: array }))?.code).toBe("limit_exceeded");
    // After the array's punctuation, about (1 MiB - 1,000,001) / 4 nulls fit.
    expect(reads()).toBeLessThan(20_000);
  });

  it("walks no content once the recipient limit is exceeded", () => {
    const { array, reads } = countingNulls(10);
    const input = { ...recipients({ n: array }), recipient_devices: { [BOB]: ["A", "B", "C"] } };
    expect(firstIssue(input, { maxRecipients: 2 })?.code).toBe("limit_exceeded");
    expect(reads()).toBe(0);
  });
});

describe("byte limit properties", () => {
  const validRequest = fc.oneof(arb.legacyWire, arb.recipientsWire, arb.scopedWire);

  it("accepts a valid request exactly when its documented size is within the limit", () => {
    fc.assert(
      fc.property(validRequest, fc.nat({ max: 4000 }), (input, maxRequestBytes) => {
        const accepted = E.isRight(decodeSendRequest(input, { maxRequestBytes }));
        expect(accepted).toBe(requestBytes(input) <= maxRequestBytes);
      }),
      { numRuns: 500, ...seed },
    );
  });

  it("never accepts more than the limit as JSON.stringify measures it, for text needing no escapes", () => {
    const plainText = fc.string({ unit: fc.constantFrom(..."abc xyz_-09.:@"), maxLength: 12 });
    const content = fc
      .dictionary(
        plainText.filter((key) => key !== "scope"),
        fc.jsonValue({ maxDepth: 3, stringUnit: fc.constantFrom(..."abc 019") }),
        { maxKeys: 6 },
      )
      .map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
    const request = fc.record({
      type: arb.eventType,
      recipient_devices: arb.recipientDevices,
      content,
    });
    fc.assert(
      fc.property(request, fc.nat({ max: 3000 }), (input, maxRequestBytes) => {
        const result = decodeSendRequest(input, { maxRequestBytes });
        if (E.isRight(result))
          expect(JSON.stringify(input).length).toBeLessThanOrEqual(maxRequestBytes);
      }),
      { numRuns: 500, ...seed },
    );
  });

  it("answers any input under any limits without throwing, within the limit when it accepts", () => {
    const limits = fc.record({
      maxRequestBytes: fc.nat({ max: 5000 }),
      maxRecipients: fc.nat({ max: 20 }),
      maxDepth: fc.nat({ max: 6 }),
      maxIssues: fc.integer({ min: 1, max: 25 }),
    });
    const input = fc.oneof(arb.anyValue, arb.requestShaped, arb.withProtoKey, validRequest);
    fc.assert(
      fc.property(input, limits, (value, limit) => {
        const result = decodeSendRequest(value, limit);
        if (E.isRight(result))
          expect(requestBytes(value)).toBeLessThanOrEqual(limit.maxRequestBytes);
        else expect(result.left.length).toBeLessThanOrEqual(limit.maxIssues + 1);
      }),
      { numRuns: 1000, ...seed },
    );
  });
});

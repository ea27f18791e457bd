// Property-based tests (fast-check) of the pure codecs: no fakes involved.
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  decodeSendRequest,
  decodeToWidgetMessage,
  encodeSendRequest,
  encodeToWidgetMessage,
  normalize,
  parseCapability,
  type SendRequest,
  toLegacyRequest,
  toRecipientsRequests,
} from "../src/index.js";
import * as arb from "./arbitraries.js";

const decoded = (input: unknown): SendRequest => {
  const result = decodeSendRequest(input);
  if (E.isLeft(result)) throw new Error(`expected a valid request: ${JSON.stringify(result.left)}`);
  return result.right;
};

describe("round trips", () => {
  it.each([
    ["legacy", arb.legacyWire],
    ["recipients", arb.recipientsWire],
    ["scoped", arb.scopedWire],
  ] as const)("encode(decode(x)) equals x for every valid %s request", (format, wire) => {
    fc.assert(
      fc.property(wire, (input) => {
        const request = decoded(input);
        expect(request.format).toBe(format);
        expect(encodeSendRequest(request)).toStrictEqual(input);
      }),
    );
  });

  it("legacy -> normal -> legacy returns the same map", () => {
    fc.assert(
      fc.property(arb.legacyWire, (input) => {
        const legacy = toLegacyRequest(normalize(decoded(input)));
        expect(E.isRight(legacy) && encodeSendRequest(legacy.right)).toEqual(input);
      }),
    );
  });

  it("legacy -> normal groups hold pairwise different contents covering every device once", () => {
    fc.assert(
      fc.property(arb.legacyWire, (input) => {
        const normal = normalize(decoded(input));
        const contents = normal.groups.map((group) =>
          JSON.stringify(group.content, Object.keys(group.content).sort()),
        );
        expect(new Set(contents).size).toBe(contents.length);
        const devices = normal.groups.flatMap((group) =>
          Object.entries(group.recipients).flatMap(([user, list]) =>
            list.map((device) => `${user}|${device}`),
          ),
        );
        const expected = Object.entries(input.messages).flatMap(([user, map]) =>
          Object.keys(map).map((device) => `${user}|${device}`),
        );
        expect(devices.sort()).toEqual(expected.sort());
      }),
    );
  });

  it("recipients -> normal -> recipients returns the request", () => {
    fc.assert(
      fc.property(fc.oneof(arb.recipientsWire, arb.scopedWire), (input) => {
        const requests = toRecipientsRequests(normalize(decoded(input)));
        expect(requests).toHaveLength(1);
        expect(encodeSendRequest(requests[0] as SendRequest)).toStrictEqual(input);
      }),
    );
  });

  it("every legacy request converts to recipients requests that decode again", () => {
    fc.assert(
      fc.property(arb.legacyWire, (input) => {
        for (const request of toRecipientsRequests(normalize(decoded(input)))) {
          expect(E.isRight(decodeSendRequest(encodeSendRequest(request)))).toBe(true);
        }
      }),
    );
  });

  it("to-widget messages round trip", () => {
    const message = fc
      .record(
        {
          type: arb.eventType,
          sender: arb.userId,
          encrypted: fc.constant(true),
          content: arb.content,
          sender_device: arb.deviceId,
          sender_verified: fc.boolean(),
        },
        { requiredKeys: ["type", "sender", "encrypted", "content"] },
      )
      .map((value) => JSON.parse(JSON.stringify(value)) as typeof value);
    fc.assert(
      fc.property(message, (input) => {
        const result = decodeToWidgetMessage(input);
        expect(E.isRight(result) && encodeToWidgetMessage(result.right)).toStrictEqual(input);
      }),
    );
  });
});

describe("no input makes the codecs throw", () => {
  const inputs = fc.oneof(arb.anyValue, arb.requestShaped, arb.withProtoKey);

  it("decodeSendRequest and normalize answer every input with Left issues or Right", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const result = decodeSendRequest(input);
        if (E.isRight(result)) {
          normalize(result.right);
        } else {
          expect(result.left.length).toBeGreaterThan(0);
          for (const issue of result.left) {
            expect(typeof issue.path).toBe("string");
            expect(issue.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("decodeToWidgetMessage answers every input", () => {
    fc.assert(
      fc.property(fc.oneof(arb.anyValue, arb.requestShaped, arb.withProtoKey), (input) => {
        expect(["Left", "Right"]).toContain(decodeToWidgetMessage(input)._tag);
      }),
    );
  });

  it("parseCapability answers every input", () => {
    fc.assert(
      fc.property(fc.oneof(arb.anyValue, fc.string()), (input) => {
        expect(["Left", "Right"]).toContain(parseCapability(input)._tag);
      }),
    );
  });

  it("a tiny byte limit stops any input quickly", () => {
    fc.assert(
      fc.property(arb.requestShaped, (input) => {
        const result = decodeSendRequest(input, {
          maxRequestBytes: 64,
          maxDepth: 3,
          maxRecipients: 2,
        });
        expect(["Left", "Right"]).toContain(result._tag);
      }),
    );
  });
});

// Section 4: the normal form and the conversions between formats. Pure code, no fakes.
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  countRecipients,
  decodeSendRequest,
  encodeSendRequest,
  type NormalSendRequest,
  normalize,
  type SendRequest,
  toLegacyRequest,
  toRecipientsRequests,
} from "../src/index.js";

const decoded = (input: unknown): SendRequest => {
  const result = decodeSendRequest(input);
  if (E.isLeft(result)) throw new Error(JSON.stringify(result.left));
  return result.right;
};

describe("normalize", () => {
  it("groups legacy devices that received the same content, whatever its key order", () => {
    const normal = normalize(
      decoded({
        type: "org.example.ping",
        encrypted: true,
        messages: {
          "@bob:example.org": { PHONE: { a: 1, b: [1, 2] }, LAPTOP: { b: [1, 2], a: 1 } },
          "@carol:example.org": { "*": { a: 1, b: [1, 2] } },
          "@dave:example.org": { TABLET: { a: 2 } },
        },
      }),
    );
    expect(normal.groups).toEqual([
      {
        content: { a: 1, b: [1, 2] },
        recipients: { "@bob:example.org": ["PHONE", "LAPTOP"], "@carol:example.org": ["*"] },
      },
      { content: { a: 2 }, recipients: { "@dave:example.org": ["TABLET"] } },
    ]);
    expect(countRecipients(normal)).toBe(4);
  });

  it("keeps array order significant when grouping", () => {
    const normal = normalize(
      decoded({
        type: "t",
        encrypted: false,
        messages: { "@b:x": { A: { l: [1, 2] }, B: { l: [2, 1] } } },
      }),
    );
    expect(normal.groups).toHaveLength(2);
  });

  it("groups correctly past the point where it switches to canonical keys", () => {
    const devices: Record<string, { n: number }> = {};
    for (let i = 0; i < 40; i++) devices[`D${i}`] = { n: i % 12 };
    const normal = normalize(
      decoded({ type: "t", encrypted: true, messages: { "@b:x": devices } }),
    );
    expect(normal.groups).toHaveLength(12);
    expect(normal.groups[11]?.recipients["@b:x"]).toEqual(["D11", "D23", "D35"]);
  });

  it("turns a recipients request into one group without copying it", () => {
    const input = { type: "t", recipient_devices: { "@b:x": ["A"] }, content: { n: 1 } };
    const normal = normalize(decoded(input));
    expect(normal).toEqual({
      format: "recipients",
      type: "t",
      groups: [{ content: { n: 1 }, recipients: { "@b:x": ["A"] } }],
    });
    expect(normal.groups[0]?.content).toBe(input.content);
  });

  it("keeps the scope of a scoped request", () => {
    const normal = normalize(
      decoded({
        type: "t",
        encrypted: true,
        recipient_devices: { "@b:x": ["*"] },
        content: {},
        scope: { id: "app" },
      }),
    );
    expect(normal).toMatchObject({ format: "scoped", encrypted: true, scope: { id: "app" } });
  });
});

describe("conversions back", () => {
  const normal: NormalSendRequest = {
    format: "recipients",
    type: "org.example.ping",
    groups: [
      { content: { n: 1 }, recipients: { "@b:x": ["A", "B"] } },
      { content: { n: 2 }, recipients: { "@b:x": ["C"], "@c:x": ["*"] } },
    ],
  };

  it("to legacy: the content repeated per device; encrypted unless told otherwise", () => {
    const legacy = toLegacyRequest(normal);
    expect(E.isRight(legacy) && encodeSendRequest(legacy.right)).toEqual({
      type: "org.example.ping",
      encrypted: true,
      messages: { "@b:x": { A: { n: 1 }, B: { n: 1 }, C: { n: 2 } }, "@c:x": { "*": { n: 2 } } },
    });
    const cleartext = toLegacyRequest(normal, { encryptedByDefault: false });
    expect(E.isRight(cleartext) && cleartext.right.encrypted).toBe(false);
    const asked = toLegacyRequest({ ...normal, encrypted: false });
    expect(E.isRight(asked) && asked.right.encrypted).toBe(false);
  });

  it("refuses to turn a scoped request into legacy", () => {
    const result = toLegacyRequest({ ...normal, format: "scoped", scope: {} });
    expect(E.isLeft(result) && result.left[0]?.path).toBe("scope");
  });

  it("to recipients: one request per group", () => {
    expect(toRecipientsRequests(normal).map(encodeSendRequest)).toEqual([
      { type: "org.example.ping", recipient_devices: { "@b:x": ["A", "B"] }, content: { n: 1 } },
      {
        type: "org.example.ping",
        recipient_devices: { "@b:x": ["C"], "@c:x": ["*"] },
        content: { n: 2 },
      },
    ]);
  });

  it("writes a `__proto__` device ID as an own key", () => {
    const legacy = toLegacyRequest({
      ...normal,
      groups: [{ content: { n: 1 }, recipients: { "@b:x": ["__proto__"] } }],
    });
    const devices = E.isRight(legacy) ? legacy.right.messages["@b:x"] : undefined;
    expect(Object.keys(devices ?? {})).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(devices)).toBe(Object.prototype);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level and keeps arrays in order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});

// Example tests, one or more per rule of sections 3 and 8. Pure code: no fakes needed.
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  type CodecIssue,
  decodeSendRequest,
  encodeSendRequest,
  LegacySendRequestC,
  type Limits,
  RecipientsSendRequestC,
  ScopedSendRequestC,
  SendRequestC,
} from "../src/index.js";

const BOB = "@bob:example.org";

function issues(input: unknown, limits?: Partial<Limits>): ReadonlyArray<CodecIssue> {
  const result = decodeSendRequest(input, limits);
  if (E.isRight(result)) throw new Error(`expected issues, got ${JSON.stringify(result.right)}`);
  return result.left;
}

function issueAt(input: unknown, path: string, limits?: Partial<Limits>): CodecIssue {
  const found = issues(input, limits).find((issue) => issue.path === path);
  if (found === undefined)
    throw new Error(`no issue at ${path}: ${JSON.stringify(issues(input, limits))}`);
  return found;
}

const legacy = {
  type: "org.example.ping",
  encrypted: true,
  messages: { [BOB]: { BOBDEV: { hello: "world" } } },
};
const recipients = {
  type: "org.example.ping",
  recipient_devices: { [BOB]: ["A", "B"] },
  content: { n: 1 },
};
const scoped = { ...recipients, scope: { id: "org.example.app" } };

describe("format detection (section 3)", () => {
  it("tells each format apart", () => {
    expect(decodeSendRequest(legacy)).toEqual(E.right({ format: "legacy", ...legacy }));
    expect(decodeSendRequest(recipients)).toEqual(E.right({ format: "recipients", ...recipients }));
    expect(decodeSendRequest(scoped)).toEqual(E.right({ format: "scoped", ...scoped }));
  });

  it("keeps an absent `encrypted` absent in the newer formats", () => {
    const result = decodeSendRequest(recipients);
    expect(E.isRight(result) && "encrypted" in result.right).toBe(false);
    expect(E.isRight(result) && encodeSendRequest(result.right)).toStrictEqual(recipients);
  });

  it("refuses both `messages` and `recipient_devices`", () => {
    expect(issueAt({ ...recipients, messages: legacy.messages }, "").code).toBe(
      "conflicting_fields",
    );
  });

  it("refuses a request with neither", () => {
    const issue = issueAt({ type: "org.example.ping", encrypted: true }, "messages");
    expect(issue.code).toBe("missing_field");
    expect(issue.message).toMatch(/missing event contents/);
  });

  it.each([undefined, null, 42, "text", [legacy]])(
    "refuses request data %j that is not an object",
    (input) => {
      expect(issueAt(input, "").code).toBe("wrong_type");
    },
  );
});

describe("the io-ts type guards (`is`)", () => {
  const decoded = (input: unknown) => {
    const result = decodeSendRequest(input);
    if (E.isLeft(result)) throw new Error(JSON.stringify(result.left));
    return result.right;
  };

  it("accepts every decoded request", () => {
    for (const request of [decoded(legacy), decoded(recipients), decoded(scoped)]) {
      expect(SendRequestC.is(request)).toBe(true);
    }
    expect(LegacySendRequestC.is(decoded(legacy))).toBe(true);
    expect(RecipientsSendRequestC.is(decoded(recipients))).toBe(true);
    expect(ScopedSendRequestC.is(decoded(scoped))).toBe(true);
  });

  it.each([
    ["an unknown format", { format: "bogus", ...legacy }],
    ["no format", legacy],
    ["a legacy request tagged recipients", { format: "recipients", ...legacy }],
    ["a recipients request tagged legacy", { format: "legacy", ...recipients }],
    ["a scoped request tagged recipients", { format: "recipients", ...scoped }],
    ["a recipients request tagged scoped", { format: "scoped", ...recipients }],
  ])("refuses %s", (_, value) => {
    expect(SendRequestC.is(value)).toBe(false);
  });

  it("refuses another format in a format's own guard", () => {
    expect(LegacySendRequestC.is(decoded(recipients))).toBe(false);
    expect(RecipientsSendRequestC.is(decoded(scoped))).toBe(false);
    expect(ScopedSendRequestC.is({ format: "scoped", ...recipients })).toBe(false);
  });
});

describe("fields common to every format", () => {
  it("reports a missing type first, as matrix-widget-api does", () => {
    const [first] = issues({ encrypted: "yes", messages: 3 });
    expect(first).toMatchObject({ path: "type", code: "missing_field" });
  });

  it.each([
    [42, "wrong_type"],
    ["has space", "invalid_value"],
    ["x".repeat(256), "invalid_value"],
  ])("refuses type %j", (type, code) => {
    expect(issueAt({ ...legacy, type }, "type").code).toBe(code);
  });

  it("requires a boolean `encrypted` in legacy requests", () => {
    const { encrypted: _, ...withoutFlag } = legacy;
    expect(issueAt(withoutFlag, "encrypted").code).toBe("missing_field");
    expect(issueAt({ ...legacy, encrypted: "true" }, "encrypted").code).toBe("wrong_type");
  });

  it("refuses a non-boolean `encrypted` in the newer formats", () => {
    expect(issueAt({ ...recipients, encrypted: 1 }, "encrypted").code).toBe("wrong_type");
  });

  it("refuses unknown fields, naming them", () => {
    expect(issueAt({ ...legacy, content: {} }, "content").code).toBe("unknown_field");
    expect(
      issueAt({ ...recipients, recipients_devices: {} }, "recipients_devices").message,
    ).toMatch(/unknown field/);
  });

  it("orders issues type, recipients, encrypted", () => {
    const paths = issues({ type: 1, encrypted: 1, messages: 1 }).map((issue) => issue.path);
    expect(paths).toEqual(["type", "messages", "encrypted"]);
  });
});

describe("legacy messages (3.1)", () => {
  it("names the bad user ID with its path", () => {
    const issue = issueAt({ ...legacy, messages: { bob: { D: {} } } }, "messages.bob");
    expect(issue.message).toMatch(/@localpart:server/);
  });

  it("refuses a user with no devices", () => {
    expect(issueAt({ ...legacy, messages: { [BOB]: {} } }, `messages["${BOB}"]`).message).toMatch(
      /no devices/,
    );
  });

  it("refuses `*` mixed with device IDs", () => {
    const input = { ...legacy, messages: { [BOB]: { "*": {}, D: {} } } };
    expect(issueAt(input, `messages["${BOB}"]`).code).toBe("conflicting_fields");
  });

  it("refuses content that is not an object", () => {
    const input = { ...legacy, messages: { [BOB]: { D: [1] } } };
    expect(issueAt(input, `messages["${BOB}"].D`).code).toBe("wrong_type");
  });

  it("refuses a device ID with whitespace", () => {
    const input = { ...legacy, messages: { [BOB]: { "BAD DEV": {} } } };
    expect(issueAt(input, `messages["${BOB}"]["BAD DEV"]`).code).toBe("invalid_value");
  });

  it("accepts an empty map: nothing to send is not an error", () => {
    expect(E.isRight(decodeSendRequest({ ...legacy, messages: {} }))).toBe(true);
  });

  it("accepts ports and IPv6 literals in server names", () => {
    const messages = { "@a:hs1.localhost:18448": { D: {} }, "@b:[::1]:8448": { D: {} } };
    expect(E.isRight(decodeSendRequest({ ...legacy, messages }))).toBe(true);
  });
});

describe("recipient_devices (3.2)", () => {
  it("names the exact element of a bad device list", () => {
    const input = { ...recipients, recipient_devices: { [BOB]: ["A", 7] } };
    expect(issueAt(input, `recipient_devices["${BOB}"][1]`).code).toBe("wrong_type");
  });

  it("refuses an empty device list", () => {
    const input = { ...recipients, recipient_devices: { [BOB]: [] } };
    expect(issueAt(input, `recipient_devices["${BOB}"]`).message).toMatch(/no devices/);
  });

  it("refuses `*` mixed with device IDs", () => {
    const input = { ...recipients, recipient_devices: { [BOB]: ["A", "*"] } };
    expect(issueAt(input, `recipient_devices["${BOB}"][1]`).code).toBe("conflicting_fields");
  });

  it("refuses duplicate devices in short and long lists", () => {
    const short = { ...recipients, recipient_devices: { [BOB]: ["A", "B", "A"] } };
    expect(issueAt(short, `recipient_devices["${BOB}"][2]`).code).toBe("duplicate");
    const ids = Array.from({ length: 20 }, (_, i) => `D${i}`);
    const long = { ...recipients, recipient_devices: { [BOB]: [...ids, "D3"] } };
    expect(issueAt(long, `recipient_devices["${BOB}"][20]`).code).toBe("duplicate");
  });

  it("refuses a device list that is not an array", () => {
    const input = { ...recipients, recipient_devices: { [BOB]: "A" } };
    expect(issueAt(input, `recipient_devices["${BOB}"]`).code).toBe("wrong_type");
  });

  it("requires `content`", () => {
    const { content: _, ...withoutContent } = recipients;
    expect(issueAt(withoutContent, "content").code).toBe("missing_field");
  });
});

describe("scope (3.3)", () => {
  it("refuses a scope that names the room", () => {
    const issue = issueAt(
      { ...scoped, scope: { id: "x", room_id: "!r1:example.org" } },
      "scope.room_id",
    );
    expect(issue.message).toMatch(/host chooses the room/);
  });

  it("refuses content that already holds `scope`, in every format", () => {
    expect(issueAt({ ...scoped, content: { scope: {} } }, "content.scope").code).toBe(
      "invalid_value",
    );
    expect(issueAt({ ...recipients, content: { scope: 1 } }, "content.scope").code).toBe(
      "invalid_value",
    );
    const input = { ...legacy, messages: { [BOB]: { D: { scope: { room_id: "!x:y" } } } } };
    expect(issueAt(input, `messages["${BOB}"].D.scope`).code).toBe("invalid_value");
  });

  it("lets `scope.id` be left out", () => {
    expect(decodeSendRequest({ ...recipients, scope: {} })).toEqual(
      E.right({ format: "scoped", ...recipients, scope: {} }),
    );
  });

  it("refuses a scope that is not an object, and unknown scope fields", () => {
    expect(issueAt({ ...recipients, scope: "x" }, "scope").code).toBe("wrong_type");
    expect(issueAt({ ...recipients, scope: { id: "a", other: 1 } }, "scope.other").code).toBe(
      "unknown_field",
    );
    expect(issueAt({ ...recipients, scope: { id: 5 } }, "scope.id").code).toBe("wrong_type");
  });
});

describe("JSON content and limits (section 8)", () => {
  const withContent = (content: unknown) => ({ ...recipients, content });

  it.each([
    ["a function", { f: () => 1 }, "content.f"],
    ["NaN", { n: Number.NaN }, "content.n"],
    ["Infinity", { n: [1, Number.POSITIVE_INFINITY] }, "content.n[1]"],
    ["undefined", { u: undefined }, "content.u"],
    ["a bigint", { b: 1n }, "content.b"],
    ["a Date", { d: new Date(0) }, "content.d"],
    ["a Map", { m: new Map() }, "content.m"],
    ["a symbol", { s: Symbol("s") }, "content.s"],
  ])("refuses %s inside content", (_, content, path) => {
    expect(issueAt(withContent(content), path).code).toBe("not_json");
  });

  it("refuses nesting deeper than the limit, and cycles", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) deep = deep.a = {} as Record<string, unknown>;
    expect(issues(withContent(root))[0]?.code).toBe("limit_exceeded");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(issues(withContent(cyclic))[0]?.message).toMatch(/deeper than the limit of 32/);
  });

  it("stops early on a shared sub-tree that would be exponential to walk", () => {
    let node: unknown = "leaf";
    for (let i = 0; i < 30; i++) node = [node, node];
    // 2^30 leaves if walked naively: the test's own timeout is what catches a regression.
    expect(issues(withContent({ node }))[0]?.code).toBe("limit_exceeded");
  });

  it("refuses a request over the byte limit", () => {
    const issue = issues(withContent({ big: "x".repeat(2000) }), { maxRequestBytes: 1000 })[0];
    expect(issue).toMatchObject({ code: "limit_exceeded" });
    expect(issue?.message).toMatch(/1000 bytes/);
  });

  it("refuses too many recipients, counting `*` as one", () => {
    const recipient_devices = { [BOB]: ["A", "B", "C"], "@carol:example.org": ["*"] };
    expect(
      E.isRight(decodeSendRequest({ ...recipients, recipient_devices }, { maxRecipients: 4 })),
    ).toBe(true);
    expect(issues({ ...recipients, recipient_devices }, { maxRecipients: 3 })[0]?.code).toBe(
      "limit_exceeded",
    );
  });

  it("caps the number of issues reported", () => {
    const many = {
      ...recipients,
      recipient_devices: { [BOB]: Array.from({ length: 100 }, () => 1) },
    };
    const found = issues(many);
    expect(found).toHaveLength(21);
    expect(found[20]).toMatchObject({
      code: "too_many_issues",
      message: "80 more issues not listed",
    });
  });

  it("treats an own `__proto__` key as data, never as a prototype", () => {
    const content = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
    const result = decodeSendRequest(withContent(content));
    expect(E.isRight(result)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const messages = JSON.parse('{"__proto__": {"D": {}}}');
    expect(issueAt({ ...legacy, messages }, "messages.__proto__").code).toBe("invalid_value");
  });

  it("answers a throwing proxy with an issue instead of an exception", () => {
    const hostile = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => {
          throw new Error("boom");
        },
      },
    );
    expect(issues(hostile)[0]?.message).toMatch(/could not be read: Error: boom/);
  });
});

describe("exotic inputs never throw", () => {
  const traps = (thrown: unknown): ProxyHandler<object> => ({
    get: () => {
      throw thrown;
    },
    ownKeys: () => {
      throw thrown;
    },
  });

  it("`is` answers a proxy whose getters throw, for every request codec", () => {
    const hostile = new Proxy({}, traps(new Error("boom")));
    for (const codec of [
      SendRequestC,
      LegacySendRequestC,
      RecipientsSendRequestC,
      ScopedSendRequestC,
    ]) {
      expect(() => codec.is(hostile)).not.toThrow();
      expect(codec.is(hostile)).toBe(false);
    }
  });

  it("decode answers a thrown value whose own `toString` throws", () => {
    const unprintable = {
      toString() {
        throw new Error("no words");
      },
    };
    const hostile = { ...legacy, messages: new Proxy({}, traps(unprintable)) };
    expect(() => decodeSendRequest(hostile)).not.toThrow();
    expect(issues(hostile)[0]?.message).toMatch(/could not be read/);
  });
});

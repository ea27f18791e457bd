// Sections 6 and 8: the reply to a send, as the driver builds it and the widget reads it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CodecIssue,
  DeliveryFailuresC,
  decodeSendToDeviceReply,
  errorReply,
  partialReply,
  type SendToDeviceReply,
  successReply,
} from "../src/index.js";
import * as arb from "./arbitraries.js";

// `FC_SEED=<seed> pnpm exec vitest run test/send-to-device-reply.test.ts` replays a failure.
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

const BOB = "@bob:example.org";
const CAROL = "@carol:example.org";
const MATRIX_API_ERROR = {
  http_status: 413,
  http_headers: { "content-type": "application/json" },
  url: "https://hs.example.org/_matrix/client/v3/sendToDevice/m.test/1",
  response: { errcode: "M_TOO_LARGE", error: "Request too large" },
};

function decoded(input: unknown): SendToDeviceReply {
  const result = decodeSendToDeviceReply(input);
  if (result._tag === "Left") throw new Error(`expected a reply: ${JSON.stringify(result.left)}`);
  return result.right;
}

function issues(input: unknown): ReadonlyArray<CodecIssue> {
  const result = decodeSendToDeviceReply(input);
  if (result._tag === "Right") throw new Error(`expected issues, got ${JSON.stringify(result)}`);
  return result.left;
}

describe("the three replies", () => {
  it("`{}` is a success", () => {
    expect(decoded({})).toEqual({ kind: "success" });
    expect(decoded(successReply())).toEqual({ kind: "success" });
  });

  it("`{failures}` is a partial success with every device and reason", () => {
    const failures = { [BOB]: { BOBDEV: "unknown_device", "*": "no_devices" } };
    expect(decoded({ failures })).toEqual({ kind: "partial", failures });
    expect(partialReply(failures)).toEqual({ failures });
  });

  it("a reason the codec does not know yet is kept: the driver may add reasons", () => {
    const failures = { [BOB]: { BOBDEV: "http_503", PHONE: "some_future_reason" } };
    expect(decoded({ failures })).toEqual({ kind: "partial", failures });
  });

  it("an error carries its message, failures and matrix_api_error", () => {
    const error = {
      message: "Error sending event: too large",
      failures: { [BOB]: { BOBDEV: "http_413" } },
      matrix_api_error: MATRIX_API_ERROR,
    };
    expect(decoded({ error })).toEqual({ kind: "error", error });
    expect(
      errorReply(error.message, {
        failures: error.failures,
        matrix_api_error: MATRIX_API_ERROR,
      }),
    ).toEqual({ error });
    expect(decoded({ error: { message: "refused" } })).toEqual({
      kind: "error",
      error: { message: "refused" },
    });
  });

  it("a partial reply that lists no device is built as a success, and read as one", () => {
    expect(partialReply({})).toEqual({});
    expect(decoded({ failures: {} })).toEqual({ kind: "success" });
  });

  it("a device ID `__proto__` stays a plain key, on both sides", () => {
    const wire = JSON.parse(`{"failures": {"${BOB}": {"__proto__": "unknown_device"}}}`);
    const reply = decoded(wire);
    expect(reply.kind === "partial" && Object.keys(reply.failures[BOB] ?? {})).toEqual([
      "__proto__",
    ]);
    expect(reply.kind === "partial" && Object.getPrototypeOf(reply.failures[BOB])).toBe(
      Object.prototype,
    );
    expect(JSON.stringify(partialReply(reply.kind === "partial" ? reply.failures : {}))).toBe(
      JSON.stringify(wire),
    );
  });
});

describe("matrix-rust-sdk's list form: user ID -> [device ID, ...]", () => {
  it("reads each listed device with reason `unspecified`", () => {
    const wire = { failures: { [BOB]: ["BOBDEV", "PHONE"], [CAROL]: ["*"] } };
    const failures = {
      [BOB]: { BOBDEV: "unspecified", PHONE: "unspecified" },
      [CAROL]: { "*": "unspecified" },
    };
    expect(decoded(wire)).toEqual({ kind: "partial", failures });
    expect(DeliveryFailuresC.decode(wire.failures)).toEqual({ _tag: "Right", right: failures });
    expect(decoded({ error: { message: "m", failures: wire.failures } })).toEqual({
      kind: "error",
      error: { message: "m", failures },
    });
  });

  it("sits beside the map form, and is built as the map form", () => {
    const wire = { failures: { [BOB]: ["BOBDEV"], [CAROL]: { CAROLDEV: "withheld" } } };
    const failures = { [BOB]: { BOBDEV: "unspecified" }, [CAROL]: { CAROLDEV: "withheld" } };
    expect(decoded(wire)).toEqual({ kind: "partial", failures });
    expect(partialReply(failures)).toEqual({ failures });
  });

  it("is a wire form, not a value of the type: `is` says false of it", () => {
    expect(DeliveryFailuresC.is({ [BOB]: ["BOBDEV"] })).toBe(false);
    expect(DeliveryFailuresC.is({ [BOB]: { BOBDEV: "unspecified" } })).toBe(true);
  });

  it("a device `__proto__` in a list stays a plain key", () => {
    const reply = decoded({ failures: { [BOB]: ["__proto__"] } });
    const devices = reply.kind === "partial" ? reply.failures[BOB] : undefined;
    expect(Object.keys(devices ?? {})).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(devices)).toBe(Object.prototype);
  });

  it.each([
    ["a device as a bare string", { "@bob": "BOBDEV" }, 'failures["@bob"]', "invalid_value"],
    ["a user's device as a bare string", { [BOB]: "BOBDEV" }, `failures["${BOB}"]`, "wrong_type"],
    ["failures as a list of pairs", [[BOB, "BOBDEV"]], "failures", "wrong_type"],
    ["a list of lists", { [BOB]: [["BOBDEV"]] }, `failures["${BOB}"][0]`, "wrong_type"],
    ["an empty list", { [BOB]: [] }, `failures["${BOB}"]`, "invalid_value"],
    ["a number in a list", { [BOB]: ["BOBDEV", 7] }, `failures["${BOB}"][1]`, "wrong_type"],
    ["null in a list", { [BOB]: [null] }, `failures["${BOB}"][0]`, "wrong_type"],
    ["an empty device ID in a list", { [BOB]: [""] }, `failures["${BOB}"][0]`, "invalid_value"],
    ["a device ID with a space", { [BOB]: ["BOB DEV"] }, `failures["${BOB}"][0]`, "invalid_value"],
    [
      "a list under a `__proto__` user key",
      JSON.parse('{"__proto__": ["BOBDEV"]}'),
      "failures.__proto__",
      "invalid_value",
    ],
  ])("refuses %s", (_, failures, path, code) => {
    const found = issues({ failures }).find((issue) => issue.path === path);
    expect(found, JSON.stringify(issues({ failures }))).toMatchObject({ code });
    expect(found?.message.length).toBeGreaterThan(0);
  });

  it("reads any list of well-formed device IDs as the map with `unspecified` reasons", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          arb.userId,
          fc.uniqueArray(fc.oneof(arb.deviceId, fc.constant("*")), { minLength: 1, maxLength: 4 }),
          { minKeys: 1, maxKeys: 4 },
        ),
        (lists) => {
          const expected = Object.fromEntries(
            Object.entries(lists).map(([user, devices]) => [
              user,
              Object.fromEntries(devices.map((device) => [device, "unspecified"])),
            ]),
          );
          expect(decoded({ failures: lists })).toEqual({ kind: "partial", failures: expected });
        },
      ),
      seed,
    );
  });
});

describe("a malformed reply is never a success", () => {
  it.each([
    ["an error that is a string", { error: "M_FORBIDDEN" }, "error", "wrong_type"],
    ["an error without a message", { error: { errcode: "X" } }, "error.message", "missing_field"],
    ["a message that is not a string", { error: { message: 42 } }, "error.message", "wrong_type"],
    ["a string", "ok", "", "wrong_type"],
    ["null", null, "", "wrong_type"],
    ["an array", [], "", "wrong_type"],
    [
      "a reason in place of a device map",
      { failures: { [BOB]: "BOBDEV" } },
      `["${BOB}"]`,
      "wrong_type",
    ],
    ["failures as a list of pairs", { failures: [[BOB, "BOBDEV"]] }, "failures", "wrong_type"],
    [
      "a user ID that is not one",
      { failures: { "@bob": { D: "x" } } },
      '["@bob"]',
      "invalid_value",
    ],
    ["an empty reason", { failures: { [BOB]: { D: "" } } }, `["${BOB}"].D`, "invalid_value"],
    [
      "a reason that is not a string",
      { failures: { [BOB]: { D: 1 } } },
      `["${BOB}"].D`,
      "wrong_type",
    ],
    ["a user with no devices", { failures: { [BOB]: {} } }, `["${BOB}"]`, "invalid_value"],
    [
      "a field besides failures",
      { failures: { [BOB]: { D: "x" } }, ok: true },
      "ok",
      "unknown_field",
    ],
    ["any other field", { ok: true }, "ok", "unknown_field"],
    [
      "error and failures side by side",
      { error: { message: "m" }, failures: {} },
      "failures",
      "unknown_field",
    ],
    [
      "a matrix_api_error without its status",
      { error: { message: "m", matrix_api_error: { ...MATRIX_API_ERROR, http_status: "413" } } },
      "error.matrix_api_error.http_status",
      "wrong_type",
    ],
  ])("%s", (_, input, path, code) => {
    const found = issues(input).find((issue) => issue.path.endsWith(path));
    expect(found, JSON.stringify(issues(input))).toMatchObject({ code });
    expect(found?.message.length).toBeGreaterThan(0);
  });

  it("failures under a `__proto__` user key", () => {
    const wire = JSON.parse('{"failures": {"__proto__": {"BOBDEV": "unknown_device"}}}');
    expect(issues(wire)).toEqual([
      expect.objectContaining({ path: "failures.__proto__", code: "invalid_value" }),
    ]);
  });

  it("failures inherited from a prototype", () => {
    const inherited = Object.create({ failures: { [BOB]: { D: "x" } } });
    expect(issues({ error: inherited })[0]).toMatchObject({ path: "error" });
    expect(issues(Object.assign(Object.create({ x: 1 }), {}))[0]).toMatchObject({ path: "" });
  });

  it("a proxy that throws is an issue, not an exception", () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    expect(issues(hostile)[0]?.message).toContain("could not be read");
  });
});

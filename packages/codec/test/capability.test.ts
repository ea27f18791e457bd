// Sections 1 and 2: capabilities, reserved types and format identifiers. Pure code, no fakes.
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  capabilitySpellings,
  FORMAT_IDENTIFIERS,
  FORMAT_LEGACY,
  FORMAT_RECIPIENTS,
  FORMAT_SCOPED,
  formatCapability,
  formatsIn,
  isReservedType,
  newestCommonFormat,
  parseCapability,
  RESERVED_TYPES,
} from "../src/index.js";

describe("capabilities", () => {
  it.each([
    ["org.matrix.msc3819.send.to_device:org.example.ping", "send", "unstable"],
    ["org.matrix.msc3819.receive.to_device:org.example.ping", "receive", "unstable"],
    ["m.send.to_device:org.example.ping", "send", "stable"],
    ["m.receive.to_device:org.example.ping", "receive", "stable"],
  ])("parses %s", (capability, direction, spelling) => {
    expect(parseCapability(capability)).toEqual(
      E.right({ direction, type: "org.example.ping", spelling }),
    );
  });

  it("formats both spellings and parses back", () => {
    for (const spelling of ["unstable", "stable"] as const) {
      const capability = formatCapability("receive", "io.element.call.encryption_keys", {
        spelling,
      });
      expect(parseCapability(capability)).toEqual(
        E.right({ direction: "receive", type: "io.element.call.encryption_keys", spelling }),
      );
    }
    expect(formatCapability("send", "x")).toBe("org.matrix.msc3819.send.to_device:x");
    expect(capabilitySpellings("send", "x")).toEqual([
      "org.matrix.msc3819.send.to_device:x",
      "m.send.to_device:x",
    ]);
  });

  it.each([
    ["org.matrix.msc3819.send.to_device:org.example.*", /wildcards/],
    ["org.matrix.msc3819.send.to_device:", /empty/],
    ["org.matrix.msc2762.send.event:m.room.message", /not a to-device capability/],
    ["m.send.to_device:has space", /not a valid event type/],
  ])("refuses %s", (capability, reason) => {
    const result = parseCapability(capability);
    expect(E.isLeft(result) && result.left[0]?.message).toMatch(reason);
  });
});

describe("reserved types", () => {
  it.each([...RESERVED_TYPES, "m.key.verification.future_step", "m.secret.anything"])(
    "%s is reserved",
    (type) => {
      expect(isReservedType(type)).toBe(true);
    },
  );

  it.each(["org.example.ping", "io.element.call.encryption_keys", "m.room_keys", "m.room.message"])(
    "%s is not reserved",
    (type) => {
      expect(isReservedType(type)).toBe(false);
    },
  );
});

describe("format negotiation helpers", () => {
  it("advertises every format, oldest first", () => {
    expect(FORMAT_IDENTIFIERS).toEqual([FORMAT_LEGACY, FORMAT_RECIPIENTS, FORMAT_SCOPED]);
  });

  it("picks the newest common format and falls back to legacy", () => {
    const all = formatsIn(FORMAT_IDENTIFIERS);
    expect(newestCommonFormat(all, formatsIn(["0.0.1", FORMAT_LEGACY]))).toBe("legacy");
    expect(newestCommonFormat(all, formatsIn([FORMAT_LEGACY, FORMAT_RECIPIENTS]))).toBe(
      "recipients",
    );
    expect(newestCommonFormat(all, all)).toBe("scoped");
    expect(newestCommonFormat(all, formatsIn(["0.0.1"]))).toBeUndefined();
  });
});

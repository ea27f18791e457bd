// The reserved-type table of section 1. Which types the pinned client libraries handle is
// checked against it in packages/driver/test/reserved-types-coverage.test.ts.
import { describe, expect, it } from "vitest";
import {
  isReservedType,
  RESERVED_TYPE_PREFIXES,
  RESERVED_TYPE_TABLE,
  RESERVED_TYPES,
} from "../src/index.js";

describe("reserved types (section 1)", () => {
  it.each([
    "io.element.msc4385.secret.push",
    "m.secret.push",
    "m.room_key_bundle",
    "io.element.msc4268.room_key_bundle",
  ])("reserves %s", (type) => {
    expect(isReservedType(type)).toBe(true);
  });

  it("says for every row where the type comes from and why it is reserved", () => {
    for (const row of RESERVED_TYPE_TABLE) {
      expect(row.source, row.type).not.toBe("");
      expect(row.reason, row.type).not.toBe("");
      if (row.match === "prefix") expect(row.type, row.type).toMatch(/\.$/);
    }
    expect(new Set(RESERVED_TYPE_TABLE.map((row) => row.type)).size).toBe(
      RESERVED_TYPE_TABLE.length,
    );
  });

  it("lists the table's exact types and prefixes", () => {
    expect([...RESERVED_TYPES, ...RESERVED_TYPE_PREFIXES].sort()).toEqual(
      RESERVED_TYPE_TABLE.map((row) => row.type).sort(),
    );
    expect(RESERVED_TYPE_PREFIXES).toEqual([
      "m.secret.",
      "m.key.verification.",
      "org.matrix.msc3814.",
    ]);
  });
});

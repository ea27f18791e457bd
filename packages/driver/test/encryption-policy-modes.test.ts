/**
 * Section 5 and ADR 0001: both policy modes, for every binding (encrypted room, cleartext room,
 * global), every flag (true, false, none) and both `allowGlobalCleartext` settings. The expected
 * column is written out row by row, not computed.
 */
import { describe, expect, it } from "vitest";
import { decideEncryption, type EncryptionPolicyMode } from "../src/index.js";

type Binding = "encrypted room" | "cleartext room" | "global";
type Flag = true | false | undefined;
type Outcome = "encrypt" | "cleartext" | "refuse";

// [mode, binding, flag, allowGlobalCleartext, expected]
const ROWS: ReadonlyArray<readonly [EncryptionPolicyMode, Binding, Flag, boolean, Outcome]> = [
  ["strict", "encrypted room", true, false, "encrypt"],
  ["strict", "encrypted room", true, true, "encrypt"],
  ["strict", "encrypted room", false, false, "refuse"],
  ["strict", "encrypted room", false, true, "refuse"],
  ["strict", "encrypted room", undefined, false, "encrypt"],
  ["strict", "encrypted room", undefined, true, "encrypt"],
  ["strict", "cleartext room", true, false, "encrypt"],
  ["strict", "cleartext room", true, true, "encrypt"],
  ["strict", "cleartext room", false, false, "cleartext"],
  ["strict", "cleartext room", false, true, "cleartext"],
  ["strict", "cleartext room", undefined, false, "cleartext"],
  ["strict", "cleartext room", undefined, true, "cleartext"],
  ["strict", "global", true, false, "encrypt"],
  ["strict", "global", true, true, "encrypt"],
  ["strict", "global", false, false, "refuse"],
  ["strict", "global", false, true, "cleartext"],
  ["strict", "global", undefined, false, "encrypt"],
  ["strict", "global", undefined, true, "encrypt"],
  ["obey-widget", "encrypted room", true, false, "encrypt"],
  ["obey-widget", "encrypted room", true, true, "encrypt"],
  ["obey-widget", "encrypted room", false, false, "cleartext"],
  ["obey-widget", "encrypted room", false, true, "cleartext"],
  ["obey-widget", "encrypted room", undefined, false, "encrypt"],
  ["obey-widget", "encrypted room", undefined, true, "encrypt"],
  ["obey-widget", "cleartext room", true, false, "encrypt"],
  ["obey-widget", "cleartext room", true, true, "encrypt"],
  ["obey-widget", "cleartext room", false, false, "cleartext"],
  ["obey-widget", "cleartext room", false, true, "cleartext"],
  ["obey-widget", "cleartext room", undefined, false, "cleartext"],
  ["obey-widget", "cleartext room", undefined, true, "cleartext"],
  ["obey-widget", "global", true, false, "encrypt"],
  ["obey-widget", "global", true, true, "encrypt"],
  // The host's word on global cleartext holds in every mode.
  ["obey-widget", "global", false, false, "refuse"],
  ["obey-widget", "global", false, true, "cleartext"],
  ["obey-widget", "global", undefined, false, "encrypt"],
  ["obey-widget", "global", undefined, true, "encrypt"],
];

describe("decideEncryption, every mode x binding x flag x allowGlobalCleartext", () => {
  it.each(ROWS)(
    "%s, %s, encrypted: %s, allowGlobalCleartext: %s -> %s",
    (mode, binding, flag, allow, expected) => {
      const decision = decideEncryption(mode, {
        roomId: binding === "global" ? null : "!r1:example.org",
        roomEncrypted: binding === "encrypted room",
        requested: flag,
        allowGlobalCleartext: allow,
      });
      const outcome = decision.kind === "refused" ? "refuse" : decision.kind;
      expect(outcome).toBe(expected);
      if (decision.kind === "refused") expect(decision.message).toMatch(/encrypted/);
    },
  );
});

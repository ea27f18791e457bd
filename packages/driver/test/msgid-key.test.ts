// The de-duplication key against Node's SHA-256 (a reference implementation, not a fake).
// Property tests honour `FC_SEED` (fast-check prints the seed of a failure).
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Key } from "../src/msgid-key.js";

const seeded = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const reference = (bytes: Uint8Array) =>
  new Uint8Array(createHash("sha256").update(bytes).digest());

describe("sha256Key", () => {
  it("keys a string by the digest of its UTF-8 bytes, two bytes per character", () => {
    // Any UTF-16 units, lone surrogates included (encoded as U+FFFD, as TextEncoder does).
    const unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    const text = fc.oneof(fc.string({ unit, maxLength: 100 }), fc.string({ unit: "binary" }));
    fc.assert(
      fc.property(text, (text) => {
        const key = sha256Key(text);
        expect(key).toHaveLength(16);
        const units = Array.from({ length: key.length }, (_, i) => key.charCodeAt(i));
        const bytes = Uint8Array.from(units.flatMap((unit) => [unit >> 8, unit & 0xff]));
        expect(bytes).toEqual(reference(new TextEncoder().encode(text)));
      }),
      seeded,
    );
  });
});

// The router's synchronous SHA-256 against Node's (a reference implementation, not a fake).
// Property tests honour `FC_SEED` (fast-check prints the seed of a failure).
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256, sha256Key } from "../src/sha256.js";

const seeded = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const reference = (bytes: Uint8Array) =>
  new Uint8Array(createHash("sha256").update(bytes).digest());

describe("sha256", () => {
  it("matches the FIPS 180-4 examples", () => {
    const hex = (text: string) =>
      Buffer.from(sha256(new TextEncoder().encode(text))).toString("hex");
    expect(hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("matches Node's SHA-256 for any bytes, across block boundaries", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(sha256(bytes)).toEqual(reference(bytes));
      }),
      seeded,
    );
  });

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

import type { JsonValue } from "@widget-todevice/codec";

// Section 6: sizes are what the homeserver counts, the UTF-8 bytes of the JSON body.

/** UTF-8 length of a string, without allocating its encoding. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

// The characters `JSON.stringify` does not write as one byte each: the quote and backslash, the
// controls (escaped), and everything beyond ASCII (UTF-8, or escaped when a lone surrogate).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const NEEDS_ESCAPE_OR_UTF8 = /["\\\u0000-\u001f\u007f-\uffff]/;

/** The bytes of `text` as a JSON string, quotes included. */
function jsonStringBytes(text: string): number {
  // Base64 ciphertexts, keys and IDs: a native scan proves one byte per character.
  return NEEDS_ESCAPE_OR_UTF8.test(text) ? utf8Length(JSON.stringify(text)) : text.length + 2;
}

/**
 * The bytes `value` takes in a JSON request body, as `JSON.stringify` writes it, counted by
 * walking the value rather than writing it: a ciphertext is sized without a copy of it, and
 * matrix-js-sdk serialises it once, for the body.
 */
export function jsonByteLength(value: JsonValue): number {
  if (typeof value === "string") return jsonStringBytes(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value).length : 4;
  if (value === null || typeof value !== "object") return String(JSON.stringify(value)).length;
  if (Array.isArray(value)) {
    // `[` `]` and a comma between items; an item `JSON.stringify` cannot write becomes `null`.
    let bytes = value.length === 0 ? 2 : value.length + 1;
    for (const item of value as ReadonlyArray<JsonValue | undefined>)
      bytes += item === undefined ? 4 : jsonByteLength(item);
    return bytes;
  }
  let bytes = 2;
  let members = 0;
  const object = value as { readonly [key: string]: JsonValue | undefined };
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const member = object[key];
    // `JSON.stringify` leaves out members it cannot write.
    if (member === undefined) continue;
    bytes += jsonStringBytes(key) + 1 + jsonByteLength(member);
    members++;
  }
  return members === 0 ? bytes : bytes + members - 1;
}

// What Olm adds to a content: the plaintext carries the sender's and recipient's IDs and keys
// (about 1 KB with the sender's device keys), the ciphertext is base64 (4/3), the envelope names
// the algorithm and keys. An Element Call key (~200 bytes) comes out at ~1.7 KB, as observed.
const OLM_PLAINTEXT_OVERHEAD = 1_024;
const OLM_ENVELOPE_OVERHEAD = 256;

/**
 * The bytes one device's message is estimated to take before it is encrypted: the content, or
 * its Olm ciphertext. For budgets (section 6); the per-message cap is checked on the real one.
 */
export function estimatedMessageBytes(contentBytes: number, encrypted: boolean): number {
  if (!encrypted) return contentBytes;
  return Math.ceil(((contentBytes + OLM_PLAINTEXT_OVERHEAD) * 4) / 3) + OLM_ENVELOPE_OVERHEAD;
}

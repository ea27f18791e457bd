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

const NON_ASCII = /[\u0080-\uffff]/;

/** The bytes `value` takes in a JSON request body. */
export function jsonByteLength(value: JsonValue): number {
  const json = JSON.stringify(value);
  // Ciphertexts (base64) and most contents are ASCII: a native scan, not a loop per character.
  return NON_ASCII.test(json) ? utf8Length(json) : json.length;
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

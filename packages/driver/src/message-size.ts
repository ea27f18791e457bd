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

/** The bytes `value` takes in a JSON request body. */
export function jsonByteLength(value: JsonValue): number {
  return utf8Length(JSON.stringify(value));
}

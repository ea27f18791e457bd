import { sha256 } from "@noble/hashes/sha256";

// The router keys its de-duplication memory by a digest so each remembered `org.matrix.msgid`
// costs the same whatever its length (docs/protocol.md §7), and must decide synchronously while
// messages arrive; browsers offer SHA-256 only as the asynchronous `crypto.subtle.digest`. A
// cryptographic hash, because a cheap one would let a sender craft a msgid that collides with
// someone else's and have their message dropped.

const encoder = new TextEncoder();

/** SHA-256 of the UTF-8 of `text`, packed two bytes per UTF-16 unit: a 16-character key. */
export function sha256Key(text: string): string {
  const digest = sha256(encoder.encode(text));
  let key = "";
  for (let i = 0; i < digest.length; i += 2)
    key += String.fromCharCode(((digest[i] as number) << 8) | (digest[i + 1] as number));
  return key;
}

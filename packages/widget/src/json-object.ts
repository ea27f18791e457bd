// What the widget reads from outside (a host's answers and messages, an error a transport
// rejected with, a caller's recipients) is checked to be an object before its fields are read.
// This is the package's one such check; the wire shapes themselves are the codec's.

/** An object that is neither `null` nor an array: what JSON calls an object. */
export function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

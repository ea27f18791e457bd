// Section 8: user ID, device ID and event type grammar.

/** The longest user ID, device ID or event type accepted (the Matrix spec caps IDs at 255). */
export const MAX_IDENTIFIER_LENGTH = 255;

// `@localpart:server_name`: historical localparts allow any printable ASCII but `:`; the server
// name is a DNS name, IPv4 or bracketed IPv6 literal with an optional port.
const USER_ID = /^@[\x21-\x39\x3B-\x7E]+:(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$/;

// Printable ASCII without spaces: what homeservers accept in a URL path segment for types.
const EVENT_TYPE = /^[\x21-\x7E]+$/;

// Device IDs are opaque to clients; refuse only what cannot travel (control characters,
// whitespace) and the reserved `*`.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses.
const DEVICE_ID = /^[^\s\x00-\x1F\x7F]+$/;

/** The `*` device ID: every device of a user. */
export const ALL_DEVICES = "*";

/** `@localpart:server`, within the length limit. */
export function isUserId(value: string): boolean {
  return value.length <= MAX_IDENTIFIER_LENGTH && USER_ID.test(value);
}

/** A device ID other than `*`. */
export function isDeviceId(value: string): boolean {
  return value !== ALL_DEVICES && value.length <= MAX_IDENTIFIER_LENGTH && DEVICE_ID.test(value);
}

/** An event type: non-empty printable ASCII without spaces, within the length limit. */
export function isEventType(value: string): boolean {
  return value.length <= MAX_IDENTIFIER_LENGTH && EVENT_TYPE.test(value);
}

export function userIdProblem(value: string): string {
  return value.length > MAX_IDENTIFIER_LENGTH
    ? `user ID is longer than ${MAX_IDENTIFIER_LENGTH} characters`
    : `${JSON.stringify(value)} is not a user ID of the form @localpart:server`;
}

export function deviceIdProblem(value: string): string {
  if (value === "") return "device ID must not be empty";
  if (value.length > MAX_IDENTIFIER_LENGTH)
    return `device ID is longer than ${MAX_IDENTIFIER_LENGTH} characters`;
  return `${JSON.stringify(value)} is not a valid device ID (no whitespace or control characters)`;
}

export function eventTypeProblem(value: string): string {
  if (value === "") return "event type must not be empty";
  if (value.length > MAX_IDENTIFIER_LENGTH)
    return `event type is longer than ${MAX_IDENTIFIER_LENGTH} characters`;
  return `${JSON.stringify(value)} is not a valid event type (printable ASCII, no spaces)`;
}

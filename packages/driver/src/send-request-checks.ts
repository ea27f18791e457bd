import {
  type CodecIssue,
  capabilitySpellings,
  decodeSendRequest,
  formatIssues,
  isReservedType,
  type Limits,
  type NormalSendRequest,
  normalize,
} from "@widget-todevice/codec";

// Sections 3 and 8, and conformance case 3: a request is checked in matrix-widget-api's order
// and with its words (type, contents, encryption flag, capability), then in full by the codec.
// Every message adds what was wrong and where (a JSON path) after those words.

export const MISSING_TYPE = "Invalid request - missing event type";
export const MISSING_CONTENTS = "Invalid request - missing event contents";
export const MISSING_ENCRYPTION_FLAG = "Invalid request - missing encryption flag";
export const CANNOT_SEND_TYPE = "Cannot send to-device events of this type";
export const INVALID_REQUEST = "Invalid request";

/** A request ready to send, or refused with what was wrong and where (a send result as is). */
export type CheckedSendRequest =
  | { readonly kind: "valid"; readonly request: NormalSendRequest }
  | { readonly kind: "refused"; readonly message: string };

const hasOwn = (object: object, key: string): boolean => Object.hasOwn(object, key);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function refuse(words: string, detail: string): CheckedSendRequest {
  return { kind: "refused", message: detail === "" ? words : `${words}: ${detail}` };
}

/** The issues under `fields`, as one line (or `fallback` when the codec found none there). */
function detailAt(
  issues: ReadonlyArray<CodecIssue>,
  fields: ReadonlyArray<string>,
  fallback: string,
): string {
  const under = issues.filter((issue) =>
    fields.some(
      (field) =>
        issue.path === field ||
        issue.path.startsWith(`${field}.`) ||
        issue.path.startsWith(`${field}[`),
    ),
  );
  return under.length > 0 ? formatIssues(under) : fallback;
}

/**
 * Checks the `data` of a `fromWidget` `send_to_device` request. `canSend` says whether the
 * widget holds the send capability for a type (in either spelling).
 */
export function checkSendRequest(
  data: unknown,
  canSend: (type: string) => boolean,
  limits?: Partial<Limits>,
): CheckedSendRequest {
  if (!isObject(data)) {
    const kind =
      data === undefined
        ? "no `data`"
        : `\`data\` is ${Array.isArray(data) ? "an array" : typeof data}`;
    return refuse(MISSING_TYPE, `the request has ${kind}; it must be an object with \`type\``);
  }
  const decoded = decodeSendRequest(data, limits);
  const issues = decoded._tag === "Left" ? decoded.left : [];

  const type = hasOwn(data, "type") ? data.type : undefined;
  if (typeof type !== "string" || type === "") {
    return refuse(MISSING_TYPE, detailAt(issues, ["type"], "`type` must be a non-empty string"));
  }
  const legacy = hasOwn(data, "messages");
  if (!legacy && !(hasOwn(data, "recipient_devices") && hasOwn(data, "content"))) {
    return refuse(
      MISSING_CONTENTS,
      detailAt(
        issues,
        ["messages", "content"],
        "a request needs `messages` (legacy format) or `recipient_devices` and `content`",
      ),
    );
  }
  const encrypted = hasOwn(data, "encrypted") ? data.encrypted : undefined;
  if (
    legacy
      ? typeof encrypted !== "boolean"
      : encrypted !== undefined && typeof encrypted !== "boolean"
  ) {
    return refuse(
      MISSING_ENCRYPTION_FLAG,
      detailAt(issues, ["encrypted"], "`encrypted` must be true or false"),
    );
  }
  // Section 1: reserved types are refused whatever was granted, and never answered `{}`.
  if (isReservedType(type)) {
    return refuse(
      CANNOT_SEND_TYPE,
      `\`${type}\` is reserved for the client's own encryption keys and device verification; widgets may never send it`,
    );
  }
  if (!canSend(type)) {
    const [unstable, stable] = capabilitySpellings("send", type);
    return refuse(CANNOT_SEND_TYPE, `the widget holds neither \`${unstable}\` nor \`${stable}\``);
  }
  if (decoded._tag === "Left") return refuse(INVALID_REQUEST, formatIssues(decoded.left));
  return { kind: "valid", request: normalize(decoded.right) };
}

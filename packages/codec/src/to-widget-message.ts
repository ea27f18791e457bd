import * as t from "io-ts";
import { type CodecIssue, type CodedValidationError, issuesOf } from "./codec-issue.js";
import * as E from "./either.js";
import { IssueLog, isPlainObject, ownField, rootOf } from "./issue-log.js";
import { type JsonObject, newWalk, walkJsonObject } from "./json-content.js";
import { DEFAULT_LIMITS, type Limits, withDefaults } from "./limits.js";
import {
  deviceIdProblem,
  eventTypeProblem,
  isDeviceId,
  isEventType,
  isUserId,
  userIdProblem,
} from "./matrix-ids.js";
import { neverThrowing, stringOf, struct } from "./plain-object-codecs.js";

// Section 7: the `data` of a `toWidget` `send_to_device` request. A cold path: one message per
// call, so it is composed from io-ts combinators.

const EventTypeC = /* @__PURE__ */ stringOf(
  "EventType",
  "an event type string",
  isEventType,
  eventTypeProblem,
);
const UserIdC = /* @__PURE__ */ stringOf("UserId", "a user ID string", isUserId, userIdProblem);
const DeviceIdC = /* @__PURE__ */ stringOf(
  "DeviceId",
  "a device ID string",
  isDeviceId,
  deviceIdProblem,
);

/** A JSON object within `limits` (section 8), checked by the same walk as request contents. */
function jsonObjectCodec(limits: Limits): t.Type<JsonObject, JsonObject, unknown> {
  const validate = (u: unknown, c: t.Context): t.Validation<JsonObject> => {
    const log = new IssueLog(limits.maxIssues);
    walkJsonObject(rootOf(c, u), newWalk(limits, log));
    return log.isEmpty ? t.success(u as JsonObject) : t.failures(log.result(c));
  };
  return new t.Type<JsonObject, JsonObject, unknown>(
    "JsonObject",
    (u): u is JsonObject => validate(u, [])._tag === "Right",
    validate,
    t.identity,
  );
}

/** Section 7's fields with `limits` for the content, and its rule on sender facts. */
function messageCodec(limits: Limits) {
  const fields = struct(
    "ToWidgetMessage",
    { type: EventTypeC, sender: UserIdC, encrypted: t.boolean, content: jsonObjectCodec(limits) },
    { sender_device: DeviceIdC, sender_verified: t.boolean },
    // Hosts that copy raw events leak Olm envelope fields: they are left out, not refused.
    { what: "a to-widget message", otherFields: "drop" },
  );
  type Message = t.TypeOf<typeof fields>;
  const validate = (u: unknown, c: t.Context): t.Validation<Message> => {
    const decoded = fields.validate(u, c);
    const conflict = senderFactsProblem(u, c);
    if (conflict === undefined) return decoded;
    return t.failures(decoded._tag === "Left" ? [...decoded.left, ...conflict] : conflict);
  };
  return neverThrowing(
    new t.Type<Message, Message, unknown>(
      "ToWidgetMessage",
      (u): u is Message => validate(u, [])._tag === "Right",
      validate,
      // Exactly the fields of section 7, in order: nothing else from a raw event survives.
      (message) => fields.encode(message),
    ),
    "the message",
  );
}

/** Authenticated sender facts only exist for what was decrypted: never trust them otherwise. */
function senderFactsProblem(u: unknown, c: t.Context): t.Errors | undefined {
  if (!isPlainObject(u) || ownField(u, "encrypted") !== false) return undefined;
  if (ownField(u, "sender_device") === undefined && ownField(u, "sender_verified") === undefined)
    return undefined;
  const error: CodedValidationError = {
    value: u,
    context: c,
    code: "conflicting_fields",
    message: "`sender_device` and `sender_verified` belong to encrypted messages only",
  };
  return [error];
}

/**
 * The codec of what a widget receives. Decoding ignores fields section 7 does not define, so
 * that messages from hosts that copy raw events still decode, without those fields.
 */
export const ToWidgetMessageC = /* @__PURE__ */ messageCodec(DEFAULT_LIMITS);

/**
 * What a widget receives: `type`, `sender`, `encrypted` (how the host actually received it,
 * never a value copied from the wire), `content`, and for encrypted messages only the host's
 * authenticated `sender_device` and whether that device is verified, `sender_verified`.
 */
export type ToWidgetMessage = t.TypeOf<typeof ToWidgetMessageC>;

/** `ToWidgetMessageC` with other limits for the content. */
export function toWidgetMessageCodec(
  limits?: Partial<Limits>,
): t.Type<ToWidgetMessage, ToWidgetMessage, unknown> {
  return limits === undefined ? ToWidgetMessageC : messageCodec(withDefaults(limits));
}

/** Exactly the fields of section 7, in order: nothing else from a raw event survives. */
export function encodeToWidgetMessage(message: ToWidgetMessage): ToWidgetMessage {
  return ToWidgetMessageC.encode(message);
}

/** Decodes the `data` of a `toWidget` `send_to_device` request. Never throws. */
export function decodeToWidgetMessage(
  input: unknown,
  limits?: Partial<Limits>,
): E.Either<ReadonlyArray<CodecIssue>, ToWidgetMessage> {
  return E.mapLeft(toWidgetMessageCodec(limits).decode(input), issuesOf);
}

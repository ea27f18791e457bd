import * as t from "io-ts";
import { type CodecIssue, issuesOf } from "./codec-issue.js";
import * as E from "./either.js";
import { childContext, IssueLog, isPlainObject, ownField } from "./issue-log.js";
import { describe, type JsonObject, newWalk, walkJsonObject } from "./json-content.js";
import { type Limits, withDefaults } from "./limits.js";
import {
  deviceIdProblem,
  eventTypeProblem,
  isDeviceId,
  isEventType,
  isUserId,
  userIdProblem,
} from "./matrix-ids.js";
import { neverThrowing } from "./plain-object-codecs.js";

// Section 7: the `data` of a `toWidget` `send_to_device` request.

export interface ToWidgetMessage {
  readonly type: string;
  readonly sender: string;
  /** How the host actually received it; never a value copied from the wire. */
  readonly encrypted: boolean;
  readonly content: JsonObject;
  /** The sender's device as authenticated by decryption: encrypted messages only. */
  readonly sender_device?: string;
  /** Whether that device is verified: encrypted messages only. */
  readonly sender_verified?: boolean;
}

function validateMessage(u: unknown, c: t.Context, limits: Limits): t.Validation<ToWidgetMessage> {
  if (!isPlainObject(u)) return t.failure(u, c, `message must be an object, not ${describe(u)}`);
  const log = new IssueLog(limits.maxIssues);
  const grammar = (valid: (v: string) => boolean, problem: (v: string) => string) => ({
    valid,
    problem,
  });
  /** One field: present if required, of its JS type, then of its grammar; its value when good. */
  const check = (
    key: string,
    kind: "string" | "boolean",
    required: boolean,
    what: string,
    rule?: ReturnType<typeof grammar>,
  ): string | boolean | undefined => {
    const value = ownField(u, key);
    if (value === undefined && !required) return undefined;
    const at = childContext(c, key, kind === "string" ? t.string : t.boolean, value);
    if (typeof value !== kind) {
      const code = value === undefined ? "missing_field" : "wrong_type";
      log.add(value, at, code, `\`${key}\` must be ${what}`);
      return undefined;
    }
    if (rule !== undefined && !rule.valid(value as string)) {
      log.add(value, at, "invalid_value", rule.problem(value as string));
      return undefined;
    }
    return value as string | boolean;
  };

  const type = check(
    "type",
    "string",
    true,
    "an event type string",
    grammar(isEventType, eventTypeProblem),
  );
  const sender = check(
    "sender",
    "string",
    true,
    "a user ID string",
    grammar(isUserId, userIdProblem),
  );
  const encrypted = check("encrypted", "boolean", true, "true or false");
  const content = ownField(u, "content");
  const contentAt = childContext(c, "content", t.unknown, content);
  if (content === undefined) log.add(content, contentAt, "missing_field", "missing `content`");
  else walkJsonObject(content, contentAt, newWalk(limits, log));
  const senderDevice = check(
    "sender_device",
    "string",
    false,
    "a device ID string",
    grammar(isDeviceId, deviceIdProblem),
  );
  const senderVerified = check("sender_verified", "boolean", false, "true or false");

  // Authenticated sender facts only exist for what was decrypted: never trust them otherwise.
  if (
    encrypted === false &&
    (ownField(u, "sender_device") !== undefined || ownField(u, "sender_verified") !== undefined)
  ) {
    log.add(
      u,
      c,
      "conflicting_fields",
      "`sender_device` and `sender_verified` belong to encrypted messages only",
    );
  }
  if (!log.isEmpty) return t.failures(log.result(c));
  return t.success({
    type: type as string,
    sender: sender as string,
    encrypted: encrypted as boolean,
    content: content as JsonObject,
    ...(senderDevice === undefined ? {} : { sender_device: senderDevice as string }),
    ...(senderVerified === undefined ? {} : { sender_verified: senderVerified as boolean }),
  });
}

/** Exactly the fields of section 7, in order: nothing else from a raw event survives. */
export function encodeToWidgetMessage(message: ToWidgetMessage): ToWidgetMessage {
  return {
    type: message.type,
    sender: message.sender,
    encrypted: message.encrypted,
    content: message.content,
    ...(message.sender_device === undefined ? {} : { sender_device: message.sender_device }),
    ...(message.sender_verified === undefined ? {} : { sender_verified: message.sender_verified }),
  };
}

/**
 * The codec of what a widget receives. Decoding ignores fields section 7 does not define, so
 * that messages from hosts that copy raw events still decode, without those fields.
 */
export function toWidgetMessageCodec(
  limits?: Partial<Limits>,
): t.Type<ToWidgetMessage, ToWidgetMessage, unknown> {
  const resolved = withDefaults(limits);
  const validate = (u: unknown, c: t.Context): t.Validation<ToWidgetMessage> =>
    validateMessage(u, c, resolved);
  return neverThrowing(
    new t.Type<ToWidgetMessage, ToWidgetMessage, unknown>(
      "ToWidgetMessage",
      (u): u is ToWidgetMessage => validate(u, [])._tag === "Right",
      validate,
      encodeToWidgetMessage,
    ),
    "the message",
  );
}

export const ToWidgetMessageC = toWidgetMessageCodec();

/** Decodes the `data` of a `toWidget` `send_to_device` request. Never throws. */
export function decodeToWidgetMessage(
  input: unknown,
  limits?: Partial<Limits>,
): E.Either<ReadonlyArray<CodecIssue>, ToWidgetMessage> {
  const codec = limits === undefined ? ToWidgetMessageC : toWidgetMessageCodec(limits);
  return E.mapLeft(codec.decode(input), issuesOf);
}

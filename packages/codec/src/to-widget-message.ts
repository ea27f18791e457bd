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
  const field = <T>(key: string, decoder: t.Decoder<unknown, T>) => {
    const value = ownField(u, key);
    return { value, at: childContext(c, key, decoder, value) };
  };

  const type = field("type", t.string);
  if (typeof type.value !== "string")
    log.add(
      type.value,
      type.at,
      type.value === undefined ? "missing_field" : "wrong_type",
      "`type` must be an event type string",
    );
  else if (!isEventType(type.value))
    log.add(type.value, type.at, "invalid_value", eventTypeProblem(type.value));

  const sender = field("sender", t.string);
  if (typeof sender.value !== "string")
    log.add(
      sender.value,
      sender.at,
      sender.value === undefined ? "missing_field" : "wrong_type",
      "`sender` must be a user ID string",
    );
  else if (!isUserId(sender.value))
    log.add(sender.value, sender.at, "invalid_value", userIdProblem(sender.value));

  const encrypted = field("encrypted", t.boolean);
  if (typeof encrypted.value !== "boolean")
    log.add(
      encrypted.value,
      encrypted.at,
      encrypted.value === undefined ? "missing_field" : "wrong_type",
      "`encrypted` must be true or false",
    );

  const content = field("content", t.unknown);
  if (content.value === undefined)
    log.add(content.value, content.at, "missing_field", "missing `content`");
  else walkJsonObject(content.value, content.at, newWalk(limits, log));

  const senderDevice = field("sender_device", t.string);
  if (senderDevice.value !== undefined) {
    if (typeof senderDevice.value !== "string")
      log.add(
        senderDevice.value,
        senderDevice.at,
        "wrong_type",
        "`sender_device` must be a device ID string",
      );
    else if (!isDeviceId(senderDevice.value))
      log.add(
        senderDevice.value,
        senderDevice.at,
        "invalid_value",
        deviceIdProblem(senderDevice.value),
      );
  }
  const senderVerified = field("sender_verified", t.boolean);
  if (senderVerified.value !== undefined && typeof senderVerified.value !== "boolean") {
    log.add(
      senderVerified.value,
      senderVerified.at,
      "wrong_type",
      "`sender_verified` must be true or false",
    );
  }
  // Authenticated sender facts only exist for what was decrypted: never trust them otherwise.
  if (
    encrypted.value === false &&
    (senderDevice.value !== undefined || senderVerified.value !== undefined)
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
    type: type.value as string,
    sender: sender.value as string,
    encrypted: encrypted.value as boolean,
    content: content.value as JsonObject,
    ...(senderDevice.value === undefined ? {} : { sender_device: senderDevice.value as string }),
    ...(senderVerified.value === undefined
      ? {}
      : { sender_verified: senderVerified.value as boolean }),
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
  const validate = (u: unknown, c: t.Context): t.Validation<ToWidgetMessage> => {
    try {
      return validateMessage(u, c, resolved);
    } catch (error) {
      return t.failure(u, c, `the message could not be read: ${String(error)}`);
    }
  };
  return new t.Type<ToWidgetMessage, ToWidgetMessage, unknown>(
    "ToWidgetMessage",
    (u): u is ToWidgetMessage => validate(u, [])._tag === "Right",
    validate,
    encodeToWidgetMessage,
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

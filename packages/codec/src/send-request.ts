import * as t from "io-ts";
import { type CodecIssue, issuesOf } from "./codec-issue.js";
import * as E from "./either.js";
import { childContext, hasOwn, IssueLog, isPlainObject, ownField } from "./issue-log.js";
import {
  describe,
  type JsonObject,
  type JsonWalk,
  keyBytes,
  newWalk,
  punctuationBytes,
  spend,
  walkJsonObject,
} from "./json-content.js";
import { type Limits, withDefaults } from "./limits.js";
import {
  ALL_DEVICES,
  deviceIdProblem,
  eventTypeProblem,
  isDeviceId,
  isEventType,
  isUserId,
  userIdProblem,
} from "./matrix-ids.js";
import { neverThrowing } from "./plain-object-codecs.js";

// Section 3: the `data` of a `fromWidget` `send_to_device` request, in three formats.

/** user ID -> device ID (or `*`) -> content: section 3.1. */
export type DeviceMessages = Readonly<Record<string, Readonly<Record<string, JsonObject>>>>;

/** user ID -> device IDs, or `["*"]`: sections 3.2 and 3.3. */
export type RecipientDevices = Readonly<Record<string, ReadonlyArray<string>>>;

/** The scope a widget asks for; the host adds the room (section 3.3). */
export interface RequestedScope {
  readonly id?: string;
}

export interface LegacyWire {
  readonly type: string;
  readonly encrypted: boolean;
  readonly messages: DeviceMessages;
}

export interface RecipientsWire {
  readonly type: string;
  readonly encrypted?: boolean;
  readonly recipient_devices: RecipientDevices;
  readonly content: JsonObject;
}

export interface ScopedWire extends RecipientsWire {
  readonly scope: RequestedScope;
}

export type SendRequestWire = LegacyWire | RecipientsWire | ScopedWire;

/** A decoded request, tagged with the format it came in. */
export type LegacySendRequest = { readonly format: "legacy" } & LegacyWire;
export type RecipientsSendRequest = { readonly format: "recipients" } & RecipientsWire;
export type ScopedSendRequest = { readonly format: "scoped" } & ScopedWire;
export type SendRequest = LegacySendRequest | RecipientsSendRequest | ScopedSendRequest;

const FIELDS = {
  legacy: ["type", "encrypted", "messages"],
  recipients: ["type", "encrypted", "recipient_devices", "content"],
  scoped: ["type", "encrypted", "recipient_devices", "content", "scope"],
} as const;

interface RequestCheck {
  readonly log: IssueLog;
  readonly walk: JsonWalk;
  recipients: number;
}

/**
 * An object's braces, commas and keys as JSON writes them; fields holding `undefined` are left
 * out, as JSON.stringify leaves them out. False once past the byte limit.
 */
function spendKeys(object: Record<string, unknown>, at: t.Context, check: RequestCheck): boolean {
  let entries = 0;
  for (const key of Object.keys(object)) {
    if (object[key] === undefined) continue;
    entries++;
    if (!spend(check.walk, keyBytes(key), object, at)) return false;
  }
  return spend(check.walk, punctuationBytes(entries), object, at);
}

/** Whether a limit was exceeded: then nothing more is walked (section 8). */
function stopped(check: RequestCheck): boolean {
  return check.walk.overBudget || check.recipients > check.walk.limits.maxRecipients;
}

function checkType(u: Record<string, unknown>, c: t.Context, check: RequestCheck): string {
  const type = ownField(u, "type");
  const at = childContext(c, "type", t.string, type);
  if (type === undefined || type === "") {
    check.log.add(
      type,
      at,
      "missing_field",
      "missing event type: `type` must be a non-empty string",
    );
  } else if (typeof type !== "string") {
    check.log.add(type, at, "wrong_type", `event type must be a string, not ${describe(type)}`);
  } else if (!isEventType(type)) {
    check.log.add(type, at, "invalid_value", eventTypeProblem(type));
  } else {
    spend(check.walk, type.length + 2, type, at);
    return type;
  }
  return "";
}

function checkEncrypted(
  u: Record<string, unknown>,
  c: t.Context,
  check: RequestCheck,
  required: boolean,
): boolean | undefined {
  const encrypted = ownField(u, "encrypted");
  if (typeof encrypted === "boolean") {
    spend(check.walk, encrypted ? 4 : 5, encrypted, c);
    return encrypted;
  }
  const at = childContext(c, "encrypted", t.boolean, encrypted);
  if (encrypted === undefined) {
    if (required) {
      check.log.add(
        encrypted,
        at,
        "missing_field",
        "missing encryption flag: `encrypted` must be true or false",
      );
    }
  } else {
    check.log.add(
      encrypted,
      at,
      "wrong_type",
      `encryption flag must be a boolean, not ${describe(encrypted)}`,
    );
  }
  return undefined;
}

function countRecipient(check: RequestCheck, value: unknown, at: t.Context): boolean {
  check.recipients++;
  if (check.recipients !== check.walk.limits.maxRecipients + 1)
    return check.recipients <= check.walk.limits.maxRecipients;
  check.log.add(
    value,
    at,
    "limit_exceeded",
    `more than the limit of ${check.walk.limits.maxRecipients} recipients`,
  );
  return false;
}

/** Content a widget sends may not carry `scope`: receivers trust it for room filtering (3.3, 7). */
function checkContent(content: unknown, at: t.Context, check: RequestCheck): void {
  if (!walkJsonObject(content, at, check.walk)) return;
  if (hasOwn(content as object, "scope")) {
    check.log.add(
      (content as Record<string, unknown>).scope,
      childContext(at, "scope", t.unknown, (content as Record<string, unknown>).scope),
      "invalid_value",
      "`scope` is stamped by the host; a widget may not set it in content",
    );
  }
}

function checkMessages(messages: unknown, c: t.Context, check: RequestCheck): void {
  const at = childContext(c, "messages", t.unknown, messages);
  if (!isPlainObject(messages)) {
    check.log.add(
      messages,
      at,
      "wrong_type",
      `\`messages\` must map user IDs to devices, not ${describe(messages)}`,
    );
    return;
  }
  const userIds = Object.keys(messages);
  if (!spend(check.walk, punctuationBytes(userIds.length), messages, at)) return;
  for (const userId of userIds) {
    const devices = messages[userId];
    const userAt = childContext(at, userId, t.unknown, devices);
    if (!spend(check.walk, keyBytes(userId), devices, userAt)) return;
    if (!isUserId(userId)) check.log.add(devices, userAt, "invalid_value", userIdProblem(userId));
    if (!isPlainObject(devices)) {
      check.log.add(
        devices,
        userAt,
        "wrong_type",
        `must map device IDs to contents, not ${describe(devices)}`,
      );
      continue;
    }
    const deviceIds = Object.keys(devices);
    if (!spend(check.walk, punctuationBytes(deviceIds.length), devices, userAt)) return;
    if (deviceIds.length === 0) {
      check.log.add(devices, userAt, "invalid_value", "names no devices: list device IDs or `*`");
      continue;
    }
    if (deviceIds.length > 1 && hasOwn(devices, ALL_DEVICES)) {
      check.log.add(
        devices,
        userAt,
        "conflicting_fields",
        "`*` may not be mixed with device IDs for one user",
      );
    }
    for (const deviceId of deviceIds) {
      const content = devices[deviceId];
      const deviceAt = childContext(userAt, deviceId, t.unknown, content);
      if (!countRecipient(check, content, deviceAt)) return;
      if (deviceId !== ALL_DEVICES && !isDeviceId(deviceId)) {
        check.log.add(content, deviceAt, "invalid_value", deviceIdProblem(deviceId));
      }
      if (!spend(check.walk, keyBytes(deviceId), content, deviceAt)) return;
      checkContent(content, deviceAt, check);
      if (check.walk.overBudget) return;
    }
  }
}

function checkRecipientDevices(recipients: unknown, c: t.Context, check: RequestCheck): void {
  const at = childContext(c, "recipient_devices", t.unknown, recipients);
  if (!isPlainObject(recipients)) {
    check.log.add(
      recipients,
      at,
      "wrong_type",
      `\`recipient_devices\` must map user IDs to device lists, not ${describe(recipients)}`,
    );
    return;
  }
  const userIds = Object.keys(recipients);
  if (!spend(check.walk, punctuationBytes(userIds.length), recipients, at)) return;
  for (const userId of userIds) {
    const devices = recipients[userId];
    if (!isUserId(userId)) {
      check.log.add(
        devices,
        childContext(at, userId, t.unknown, devices),
        "invalid_value",
        userIdProblem(userId),
      );
    }
    if (!Array.isArray(devices)) {
      check.log.add(
        devices,
        childContext(at, userId, t.unknown, devices),
        "wrong_type",
        `must be a list of device IDs, not ${describe(devices)}`,
      );
      continue;
    }
    if (!spend(check.walk, keyBytes(userId) + punctuationBytes(devices.length), devices, at))
      return;
    checkDeviceList(userId, devices, at, check);
    if (stopped(check)) return;
  }
}

function checkDeviceList(
  userId: string,
  devices: ReadonlyArray<unknown>,
  at: t.Context,
  check: RequestCheck,
): void {
  // Contexts are built only for an issue: this loop runs once per recipient device.
  const listAt = () => childContext(at, userId, t.unknown, devices);
  const deviceAt = (i: number) => childContext(listAt(), String(i), t.string, devices[i]);
  if (devices.length === 0) {
    check.log.add(devices, listAt(), "invalid_value", "names no devices: list device IDs or `*`");
    return;
  }
  // A Set only pays off past a handful of devices.
  const seen = devices.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < devices.length; i++) {
    const deviceId = devices[i];
    if (!countRecipient(check, deviceId, listAt())) return;
    if (typeof deviceId !== "string") {
      check.log.add(
        deviceId,
        deviceAt(i),
        "wrong_type",
        `device ID must be a string, not ${describe(deviceId)}`,
      );
      continue;
    }
    // Inline check: the context is built only for the report (this runs once per device).
    check.walk.bytes += deviceId.length + 2;
    if (check.walk.bytes > check.walk.limits.maxRequestBytes) {
      spend(check.walk, 0, deviceId, deviceAt(i));
      return;
    }
    if (deviceId === ALL_DEVICES) {
      if (devices.length > 1) {
        check.log.add(
          deviceId,
          deviceAt(i),
          "conflicting_fields",
          "`*` may not be mixed with device IDs for one user",
        );
      }
      continue;
    }
    if (!isDeviceId(deviceId)) {
      check.log.add(deviceId, deviceAt(i), "invalid_value", deviceIdProblem(deviceId));
      continue;
    }
    const duplicate = seen === undefined ? devices.indexOf(deviceId) < i : seen.has(deviceId);
    if (duplicate)
      check.log.add(
        deviceId,
        deviceAt(i),
        "duplicate",
        `device ${JSON.stringify(deviceId)} is listed twice`,
      );
    seen?.add(deviceId);
  }
}

function checkScope(u: Record<string, unknown>, c: t.Context, check: RequestCheck): RequestedScope {
  const scope = ownField(u, "scope");
  const at = childContext(c, "scope", t.unknown, scope);
  if (!isPlainObject(scope)) {
    check.log.add(scope, at, "wrong_type", `\`scope\` must be an object, not ${describe(scope)}`);
    return {};
  }
  if (!spendKeys(scope, at, check)) return {};
  for (const key of Object.keys(scope)) {
    if (key === "id") continue;
    const keyAt = childContext(at, key, t.unknown, scope[key]);
    if (key === "room_id") {
      check.log.add(
        scope[key],
        keyAt,
        "invalid_value",
        "the host chooses the room; a widget may not name `scope.room_id`",
      );
    } else {
      check.log.add(
        scope[key],
        keyAt,
        "unknown_field",
        `unknown field \`${key}\` in \`scope\` (only \`id\` is allowed)`,
      );
    }
  }
  const id = ownField(scope, "id");
  if (id === undefined) return {};
  if (typeof id === "string" && isEventType(id)) {
    spend(check.walk, id.length + 2, id, at);
    return { id };
  }
  check.log.add(
    id,
    childContext(at, "id", t.string, id),
    typeof id === "string" ? "invalid_value" : "wrong_type",
    typeof id === "string"
      ? `scope ${eventTypeProblem(id).replace("event type", "id")}`
      : `\`scope.id\` must be a string, not ${describe(id)}`,
  );
  return {};
}

function checkUnknownFields(
  u: Record<string, unknown>,
  c: t.Context,
  check: RequestCheck,
  allowed: ReadonlyArray<string>,
  format: string,
): void {
  for (const key of Object.keys(u)) {
    if (!allowed.includes(key)) {
      check.log.add(
        u[key],
        childContext(c, key, t.unknown, u[key]),
        "unknown_field",
        `unknown field \`${key}\` in a ${format} request`,
      );
    }
  }
}

type Detected = "legacy" | "recipients" | "scoped" | "unknown";

function detectFormat(u: Record<string, unknown>): Detected {
  if (hasOwn(u, "messages")) return "legacy";
  if (hasOwn(u, "recipient_devices")) return hasOwn(u, "scope") ? "scoped" : "recipients";
  return "unknown";
}

/**
 * Validates a request of any format (or only of `only`), collecting every issue in field order:
 * type, recipients, encrypted, content, scope, unknown fields. That order matches
 * matrix-widget-api's own checks for legacy requests.
 */
function validateRequest(
  u: unknown,
  c: t.Context,
  limits: Limits,
  only: Detected | undefined,
): t.Validation<SendRequest> {
  if (!isPlainObject(u)) {
    return t.failures([
      {
        value: u,
        context: c,
        code: "wrong_type",
        message: `request data must be an object, not ${describe(u)}`,
      } as t.ValidationError,
    ]);
  }
  const log = new IssueLog(limits.maxIssues);
  const check: RequestCheck = { log, walk: newWalk(limits, log), recipients: 0 };
  // Field names first: a request made of huge or countless fields is refused before any walk.
  if (!spendKeys(u, c, check)) return t.failures(log.result(c));
  const detected = only ?? detectFormat(u);
  const type = checkType(u, c, check);

  if (hasOwn(u, "messages") && hasOwn(u, "recipient_devices")) {
    log.add(
      u,
      c,
      "conflicting_fields",
      "a request has either `messages` (legacy format) or `recipient_devices` (recipients format), not both",
    );
  }
  switch (detected) {
    case "legacy": {
      checkMessages(ownField(u, "messages"), c, check);
      const encrypted = checkEncrypted(u, c, check, true);
      checkUnknownFields(u, c, check, FIELDS.legacy, "legacy");
      if (!log.isEmpty) break;
      return t.success({
        format: "legacy",
        type,
        encrypted: encrypted as boolean,
        messages: u.messages as DeviceMessages,
      });
    }
    case "recipients":
    case "scoped": {
      checkRecipientDevices(ownField(u, "recipient_devices"), c, check);
      const encrypted = checkEncrypted(u, c, check, false);
      const content = ownField(u, "content");
      const contentAt = childContext(c, "content", t.unknown, content);
      if (content === undefined)
        log.add(
          content,
          contentAt,
          "missing_field",
          "missing `content`: the one content every listed device receives",
        );
      else if (!stopped(check)) checkContent(content, contentAt, check);
      const scope = detected === "scoped" ? checkScope(u, c, check) : undefined;
      checkUnknownFields(u, c, check, FIELDS[detected], detected);
      if (!log.isEmpty) break;
      const base = {
        type,
        ...(encrypted === undefined ? {} : { encrypted }),
        recipient_devices: u.recipient_devices as RecipientDevices,
        content: content as JsonObject,
      };
      return t.success(
        scope === undefined
          ? { format: "recipients", ...base }
          : { format: "scoped", ...base, scope },
      );
    }
    case "unknown": {
      const at = childContext(c, "messages", t.unknown, undefined);
      log.add(
        undefined,
        at,
        "missing_field",
        "missing event contents: a request needs `messages` (legacy format) or `recipient_devices` and `content`",
      );
      checkEncrypted(u, c, check, true);
      break;
    }
  }
  return t.failures(log.result(c));
}

/** Strips the decoded `format` tag: what goes back on the wire. */
export function encodeSendRequest(request: SendRequest): SendRequestWire {
  const { format: _format, ...wire } = request;
  return wire;
}

function isFormatTag(format: unknown): format is SendRequest["format"] {
  return format === "legacy" || format === "recipients" || format === "scoped";
}

function requestCodec<A extends SendRequest>(
  name: string,
  only: A["format"] | undefined,
  limits: Limits,
): t.Type<A, SendRequestWire, unknown> {
  const validateAs = (u: unknown, c: t.Context, format: Detected | undefined): t.Validation<A> =>
    validateRequest(u, c, limits, format) as t.Validation<A>;
  // Exotic inputs (proxies, throwing getters) get an answer from `is` and `decode` alike.
  return neverThrowing(
    new t.Type<A, SendRequestWire, unknown>(
      name,
      // The tag must name a format, and the rest must be a valid request of exactly that format.
      (u): u is A =>
        isPlainObject(u) &&
        isFormatTag(u.format) &&
        (only === undefined || u.format === only) &&
        validateAs(encodeSendRequest(u as unknown as SendRequest), [], u.format)._tag === "Right",
      (u, c) => validateAs(u, c, only),
      (a) => encodeSendRequest(a),
    ),
    "the request",
  );
}

/** The codec of `send_to_device` request data in any format, with the given limits. */
export function sendRequestCodec(
  limits?: Partial<Limits>,
): t.Type<SendRequest, SendRequestWire, unknown> {
  return requestCodec<SendRequest>("SendRequest", undefined, withDefaults(limits));
}

export const SendRequestC = sendRequestCodec();
export const LegacySendRequestC = requestCodec<LegacySendRequest>(
  "LegacySendRequest",
  "legacy",
  withDefaults(undefined),
);
export const RecipientsSendRequestC = requestCodec<RecipientsSendRequest>(
  "RecipientsSendRequest",
  "recipients",
  withDefaults(undefined),
);
export const ScopedSendRequestC = requestCodec<ScopedSendRequest>(
  "ScopedSendRequest",
  "scoped",
  withDefaults(undefined),
);

/**
 * Decodes the `data` of a `fromWidget` `send_to_device` request, in whichever of the three
 * formats it is, and says which. Never throws; every problem is an issue with its path.
 * The result shares structure with `input`: treat both as read-only.
 */
export function decodeSendRequest(
  input: unknown,
  limits?: Partial<Limits>,
): E.Either<ReadonlyArray<CodecIssue>, SendRequest> {
  const codec = limits === undefined ? SendRequestC : sendRequestCodec(limits);
  return E.mapLeft(codec.decode(input), issuesOf);
}

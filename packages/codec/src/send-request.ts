import * as t from "io-ts";
import { type CodecIssue, issuesOf } from "./codec-issue.js";
import * as E from "./either.js";
import { hasOwn, inside, isPlainObject, rootOf } from "./issue-log.js";
import { describe, type JsonObject } from "./json-content.js";
import { checkMessages } from "./legacy-request.js";
import { DEFAULT_LIMITS, type Limits, withDefaults } from "./limits.js";
import { issue, neverThrowing } from "./plain-object-codecs.js";
import { checkRecipientDevices, checkScope } from "./recipients-request.js";
import {
  checkContent,
  checkEncrypted,
  checkType,
  checkUnknownFields,
  fieldOf,
  RequestCheck,
} from "./request-check.js";

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
  const root = rootOf(c, u);
  if (!isPlainObject(u)) {
    return issue(u, c, "wrong_type", `request data must be an object, not ${describe(u)}`);
  }
  const check = new RequestCheck(limits);
  const { log } = check;
  // Field names first: a request made of huge or countless fields is refused before any walk.
  if (!check.spendKeys(u, root)) return t.failures(log.result(c));
  const detected = only ?? detectFormat(u);
  const type = checkType(u, root, check);

  if (hasOwn(u, "messages") && hasOwn(u, "recipient_devices")) {
    log.report(
      root,
      "conflicting_fields",
      "a request has either `messages` (legacy format) or `recipient_devices` (recipients format), not both",
    );
  }
  switch (detected) {
    case "legacy": {
      checkMessages(fieldOf(u, root, "messages"), check);
      const encrypted = checkEncrypted(u, root, check, true);
      checkUnknownFields(u, root, check, FIELDS.legacy, "legacy");
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
      checkRecipientDevices(fieldOf(u, root, "recipient_devices"), check);
      const encrypted = checkEncrypted(u, root, check, false);
      const contentAt = fieldOf(u, root, "content");
      if (contentAt.value === undefined) {
        log.report(
          contentAt,
          "missing_field",
          "missing `content`: the one content every listed device receives",
        );
      } else if (!check.stopped) checkContent(contentAt, check);
      const scope = detected === "scoped" ? checkScope(u, root, check) : undefined;
      checkUnknownFields(u, root, check, FIELDS[detected], detected);
      if (!log.isEmpty) break;
      const base = {
        type,
        ...(encrypted === undefined ? {} : { encrypted }),
        recipient_devices: u.recipient_devices as RecipientDevices,
        content: contentAt.value as JsonObject,
      };
      return t.success(
        scope === undefined
          ? { format: "recipients", ...base }
          : { format: "scoped", ...base, scope },
      );
    }
    case "unknown": {
      log.report(
        inside(root, "messages", undefined),
        "missing_field",
        "missing event contents: a request needs `messages` (legacy format) or `recipient_devices` and `content`",
      );
      checkEncrypted(u, root, check, true);
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

// Pure calls: a bundle keeps only the codecs it uses.
/** The codec of `send_to_device` request data in any of the three formats. */
export const SendRequestC = /* @__PURE__ */ sendRequestCodec();
/** The codec of legacy requests only (section 3.1). */
export const LegacySendRequestC = /* @__PURE__ */ requestCodec<LegacySendRequest>(
  "LegacySendRequest",
  "legacy",
  DEFAULT_LIMITS,
);
/** The codec of recipients requests only (section 3.2). */
export const RecipientsSendRequestC = /* @__PURE__ */ requestCodec<RecipientsSendRequest>(
  "RecipientsSendRequest",
  "recipients",
  DEFAULT_LIMITS,
);
/** The codec of scoped requests only (section 3.3). */
export const ScopedSendRequestC = /* @__PURE__ */ requestCodec<ScopedSendRequest>(
  "ScopedSendRequest",
  "scoped",
  DEFAULT_LIMITS,
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

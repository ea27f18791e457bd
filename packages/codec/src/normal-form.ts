import { canonicalJson, jsonEqual } from "./canonical-json.js";
import type { CodecIssue } from "./codec-issue.js";
import * as E from "./either.js";
import { setOwn } from "./issue-log.js";
import type { JsonObject } from "./json-content.js";
import type {
  DeviceMessages,
  LegacySendRequest,
  RecipientDevices,
  RecipientsSendRequest,
  RequestedScope,
  ScopedSendRequest,
  SendRequest,
} from "./send-request.js";

// Section 4: every request, whatever its format, as groups of one content and its recipients.

/** One content and every device that receives it. */
export interface RecipientGroup {
  readonly content: JsonObject;
  /** user ID -> device IDs, or `["*"]`: the same shape as `recipient_devices`. */
  readonly recipients: RecipientDevices;
}

export interface NormalSendRequest {
  /** The format the request came in. */
  readonly format: SendRequest["format"];
  readonly type: string;
  /** The widget's wish; absent when it said nothing (section 5 decides). */
  readonly encrypted?: boolean;
  /** Present for scoped requests: the host adds the room. */
  readonly scope?: RequestedScope;
  /** In the order each content first appears in the request. */
  readonly groups: ReadonlyArray<RecipientGroup>;
}

/** How many groups are compared one by one before grouping switches to canonical JSON keys. */
const SCAN_LIMIT = 8;

interface OpenGroup {
  readonly content: JsonObject;
  readonly recipients: Record<string, string[]>;
}

/** Groups legacy contents by JSON equality (canonical JSON: key order does not matter). */
function groupMessages(messages: DeviceMessages): OpenGroup[] {
  const groups: OpenGroup[] = [];
  let byCanonical: Map<string, OpenGroup> | undefined;
  let last: OpenGroup | undefined;

  const find = (content: JsonObject): OpenGroup => {
    // Contents are most often one shared object, or copies of one: try the last group first.
    if (last !== undefined && (last.content === content || jsonEqual(last.content, content)))
      return last;
    if (byCanonical === undefined && groups.length < SCAN_LIMIT) {
      const found = groups.find((group) => jsonEqual(group.content, content));
      if (found !== undefined) return found;
    } else {
      byCanonical ??= new Map(groups.map((group) => [canonicalJson(group.content), group]));
      const key = canonicalJson(content);
      const found = byCanonical.get(key);
      if (found !== undefined) return found;
      const group: OpenGroup = { content, recipients: {} };
      byCanonical.set(key, group);
      groups.push(group);
      return group;
    }
    const group: OpenGroup = { content, recipients: {} };
    groups.push(group);
    return group;
  };

  for (const userId of Object.keys(messages)) {
    const devices = messages[userId] as Readonly<Record<string, JsonObject>>;
    for (const deviceId of Object.keys(devices)) {
      const group = find(devices[deviceId] as JsonObject);
      last = group;
      const list = group.recipients[userId];
      if (list === undefined) setOwn(group.recipients, userId, [deviceId]);
      else list.push(deviceId);
    }
  }
  return groups;
}

/** The normal form of a decoded request (section 4). */
export function normalize(request: SendRequest): NormalSendRequest {
  const encrypted = request.encrypted === undefined ? {} : { encrypted: request.encrypted };
  switch (request.format) {
    case "legacy":
      return {
        format: "legacy",
        type: request.type,
        ...encrypted,
        groups: groupMessages(request.messages),
      };
    case "recipients":
      return {
        format: "recipients",
        type: request.type,
        ...encrypted,
        groups: [{ content: request.content, recipients: request.recipient_devices }],
      };
    case "scoped":
      return {
        format: "scoped",
        type: request.type,
        ...encrypted,
        scope: request.scope,
        groups: [{ content: request.content, recipients: request.recipient_devices }],
      };
  }
}

/** Number of recipient entries (a user's `*` counts as one). */
export function countRecipients(request: NormalSendRequest): number {
  let count = 0;
  for (const group of request.groups) {
    for (const devices of Object.values(group.recipients)) count += devices.length;
  }
  return count;
}

/**
 * The legacy request for a normal one: each group's content repeated per device. A legacy
 * request must say whether to encrypt; when the normal form leaves it open,
 * `encryptedByDefault` decides (default `true`: never cleartext that was not asked for).
 * A scoped request has no legacy form: legacy hosts cannot stamp the room.
 */
export function toLegacyRequest(
  request: NormalSendRequest,
  options: { readonly encryptedByDefault?: boolean } = {},
): E.Either<ReadonlyArray<CodecIssue>, LegacySendRequest> {
  if (request.scope !== undefined) {
    return E.left([
      {
        path: "scope",
        code: "invalid_value",
        message: "a scoped request has no legacy form: the legacy format cannot carry a room scope",
      },
    ]);
  }
  const messages: Record<string, Record<string, JsonObject>> = {};
  for (const group of request.groups) {
    for (const userId of Object.keys(group.recipients)) {
      let devices = messages[userId];
      if (devices === undefined) {
        devices = {};
        setOwn(messages, userId, devices);
      }
      for (const deviceId of group.recipients[userId] as ReadonlyArray<string>) {
        setOwn(devices, deviceId, group.content);
      }
    }
  }
  return E.right({
    format: "legacy",
    type: request.type,
    encrypted: request.encrypted ?? options.encryptedByDefault ?? true,
    messages,
  });
}

/** One recipients request per group (scoped requests stay scoped). */
export function toRecipientsRequests(
  request: NormalSendRequest,
): ReadonlyArray<RecipientsSendRequest | ScopedSendRequest> {
  const encrypted = request.encrypted === undefined ? {} : { encrypted: request.encrypted };
  return request.groups.map((group) => {
    const base = {
      type: request.type,
      ...encrypted,
      recipient_devices: group.recipients,
      content: group.content,
    };
    return request.scope === undefined
      ? { format: "recipients" as const, ...base }
      : { format: "scoped" as const, ...base, scope: request.scope };
  });
}

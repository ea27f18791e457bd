import { inside, isPlainObject, ownField, type Where } from "./issue-log.js";
import { describe, keyBytes, punctuationBytes, spend } from "./json-content.js";
import {
  ALL_DEVICES,
  deviceIdProblem,
  eventTypeProblem,
  isDeviceId,
  isEventType,
  isUserId,
  userIdProblem,
} from "./matrix-ids.js";
import { fieldOf, type RequestCheck } from "./request-check.js";
import type { RequestedScope } from "./send-request.js";

// Sections 3.2 and 3.3, formats recipients and scoped: `recipient_devices` maps user ID -> a list
// of device IDs, or `["*"]`, and `scope` asks for a room scope.

/**
 * The hot path of these formats (docs/adr/0004-codec-speed.md): one place per user, none per
 * device; a device's place, and any io-ts context, is built only when an issue is reported there.
 */
export function checkRecipientDevices(where: Where, check: RequestCheck): void {
  const recipients = where.value;
  if (!isPlainObject(recipients)) {
    check.log.report(
      where,
      "wrong_type",
      `\`recipient_devices\` must map user IDs to device lists, not ${describe(recipients)}`,
    );
    return;
  }
  const userIds = Object.keys(recipients);
  if (!spend(check.walk, punctuationBytes(userIds.length), where)) return;
  for (const userId of userIds) {
    const listAt = inside(where, userId, recipients[userId]);
    const devices = listAt.value;
    if (!isUserId(userId)) check.log.report(listAt, "invalid_value", userIdProblem(userId));
    if (!Array.isArray(devices)) {
      check.log.report(
        listAt,
        "wrong_type",
        `must be a list of device IDs, not ${describe(devices)}`,
      );
      continue;
    }
    if (!spend(check.walk, keyBytes(userId) + punctuationBytes(devices.length), where)) return;
    checkDeviceList(listAt, devices, check);
    if (check.stopped) return;
  }
}

function checkDeviceList(
  listAt: Where,
  devices: ReadonlyArray<unknown>,
  check: RequestCheck,
): void {
  const deviceAt = (i: number): Where => inside(listAt, String(i), devices[i]);
  if (devices.length === 0) {
    check.log.report(listAt, "invalid_value", "names no devices: list device IDs or `*`");
    return;
  }
  const walk = check.walk;
  // A Set only pays off past a handful of devices.
  const seen = devices.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < devices.length; i++) {
    const deviceId = devices[i];
    if (!check.countRecipient(listAt)) return;
    if (typeof deviceId !== "string") {
      check.log.report(
        deviceAt(i),
        "wrong_type",
        `device ID must be a string, not ${describe(deviceId)}`,
      );
      continue;
    }
    // `spend`, inlined: this line runs once per recipient device.
    walk.bytes += deviceId.length + 2;
    if (walk.bytes > walk.limits.maxRequestBytes) {
      spend(walk, 0, deviceAt(i));
      return;
    }
    if (deviceId === ALL_DEVICES) {
      if (devices.length > 1) {
        check.log.report(
          deviceAt(i),
          "conflicting_fields",
          "`*` may not be mixed with device IDs for one user",
        );
      }
      continue;
    }
    if (!isDeviceId(deviceId)) {
      check.log.report(deviceAt(i), "invalid_value", deviceIdProblem(deviceId));
      continue;
    }
    const duplicate = seen === undefined ? devices.indexOf(deviceId) < i : seen.has(deviceId);
    if (duplicate) {
      check.log.report(
        deviceAt(i),
        "duplicate",
        `device ${JSON.stringify(deviceId)} is listed twice`,
      );
    }
    seen?.add(deviceId);
  }
}

/** Section 3.3: the widget may ask for a scope `id`; the room is the host's to choose. */
export function checkScope(
  request: Record<string, unknown>,
  where: Where,
  check: RequestCheck,
): RequestedScope {
  const at = fieldOf(request, where, "scope");
  const scope = at.value;
  if (!isPlainObject(scope)) {
    check.log.report(at, "wrong_type", `\`scope\` must be an object, not ${describe(scope)}`);
    return {};
  }
  if (!check.spendKeys(scope, at)) return {};
  for (const key of Object.keys(scope)) {
    if (key === "id") continue;
    const keyAt = inside(at, key, scope[key]);
    if (key === "room_id") {
      check.log.report(
        keyAt,
        "invalid_value",
        "the host chooses the room; a widget may not name `scope.room_id`",
      );
    } else {
      check.log.report(
        keyAt,
        "unknown_field",
        `unknown field \`${key}\` in \`scope\` (only \`id\` is allowed)`,
      );
    }
  }
  const id = ownField(scope, "id");
  if (id === undefined) return {};
  if (typeof id === "string" && isEventType(id)) {
    spend(check.walk, id.length + 2, at);
    return { id };
  }
  const idAt = inside(at, "id", id);
  if (typeof id === "string") {
    check.log.report(
      idAt,
      "invalid_value",
      `scope ${eventTypeProblem(id).replace("event type", "id")}`,
    );
  } else {
    check.log.report(idAt, "wrong_type", `\`scope.id\` must be a string, not ${describe(id)}`);
  }
  return {};
}

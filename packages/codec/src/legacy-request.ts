import { hasOwn, inside, isPlainObject, type Where } from "./issue-log.js";
import { describe, keyBytes, punctuationBytes, spend } from "./json-content.js";
import { ALL_DEVICES, deviceIdProblem, isDeviceId, isUserId, userIdProblem } from "./matrix-ids.js";
import { checkContent, type RequestCheck } from "./request-check.js";

// Section 3.1, format legacy: `messages` maps user ID -> device ID (or `*`) -> content.
// A hot path (docs/adr/0004-codec-speed.md): one place is built per user and per device, since
// each device's content is walked from it; no io-ts context is built unless an issue is reported.

export function checkMessages(where: Where, check: RequestCheck): void {
  const messages = where.value;
  if (!isPlainObject(messages)) {
    check.log.report(
      where,
      "wrong_type",
      `\`messages\` must map user IDs to devices, not ${describe(messages)}`,
    );
    return;
  }
  const userIds = Object.keys(messages);
  if (!spend(check.walk, punctuationBytes(userIds.length), where)) return;
  for (const userId of userIds) {
    const userAt = inside(where, userId, messages[userId]);
    if (!spend(check.walk, keyBytes(userId), userAt)) return;
    if (!isUserId(userId)) check.log.report(userAt, "invalid_value", userIdProblem(userId));
    if (!checkUserDevices(userAt, check)) return;
  }
}

/** One user's device map; false once a limit stops the walk. */
function checkUserDevices(userAt: Where, check: RequestCheck): boolean {
  const devices = userAt.value;
  if (!isPlainObject(devices)) {
    check.log.report(
      userAt,
      "wrong_type",
      `must map device IDs to contents, not ${describe(devices)}`,
    );
    return true;
  }
  const deviceIds = Object.keys(devices);
  if (!spend(check.walk, punctuationBytes(deviceIds.length), userAt)) return false;
  if (deviceIds.length === 0) {
    check.log.report(userAt, "invalid_value", "names no devices: list device IDs or `*`");
    return true;
  }
  if (deviceIds.length > 1 && hasOwn(devices, ALL_DEVICES)) {
    check.log.report(
      userAt,
      "conflicting_fields",
      "`*` may not be mixed with device IDs for one user",
    );
  }
  for (const deviceId of deviceIds) {
    const deviceAt = inside(userAt, deviceId, devices[deviceId]);
    if (!check.countRecipient(deviceAt)) return false;
    if (deviceId !== ALL_DEVICES && !isDeviceId(deviceId)) {
      check.log.report(deviceAt, "invalid_value", deviceIdProblem(deviceId));
    }
    if (!spend(check.walk, keyBytes(deviceId), deviceAt)) return false;
    checkContent(deviceAt, check);
    if (check.walk.overBudget) return false;
  }
  return true;
}

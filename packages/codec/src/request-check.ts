import { hasOwn, IssueLog, inside, ownField, type Where } from "./issue-log.js";
import {
  describe,
  type JsonWalk,
  keyBytes,
  newWalk,
  punctuationBytes,
  spend,
  walkJsonObject,
} from "./json-content.js";
import type { Limits } from "./limits.js";
import { eventTypeProblem, isEventType } from "./matrix-ids.js";

// What checking a request of any format shares (sections 3 and 8): the issue log, the byte
// and recipient budgets, and the fields every format has.

/** The state of checking one request. */
export class RequestCheck {
  readonly log: IssueLog;
  readonly walk: JsonWalk;
  recipients = 0;

  constructor(readonly limits: Limits) {
    this.log = new IssueLog(limits.maxIssues);
    this.walk = newWalk(limits, this.log);
  }

  /** Whether a limit was exceeded: then nothing more is walked (section 8). */
  get stopped(): boolean {
    return this.walk.overBudget || this.recipients > this.limits.maxRecipients;
  }

  /** Counts one recipient entry (a user's `*` is one); false, reported once, past the limit. */
  countRecipient(where: Where): boolean {
    this.recipients++;
    if (this.recipients <= this.limits.maxRecipients) return true;
    if (this.recipients === this.limits.maxRecipients + 1) {
      this.log.report(
        where,
        "limit_exceeded",
        `more than the limit of ${this.limits.maxRecipients} recipients`,
      );
    }
    return false;
  }

  /**
   * An object's braces, commas and keys as JSON writes them; fields holding `undefined` are left
   * out, as JSON.stringify leaves them out. False once past the byte limit.
   */
  spendKeys(object: Record<string, unknown>, where: Where): boolean {
    let entries = 0;
    for (const key of Object.keys(object)) {
      if (object[key] === undefined) continue;
      entries++;
      if (!spend(this.walk, keyBytes(key), where)) return false;
    }
    return spend(this.walk, punctuationBytes(entries), where);
  }
}

/** The place of a request's own field `key`. */
export function fieldOf(request: Record<string, unknown>, where: Where, key: string): Where {
  return inside(where, key, ownField(request, key));
}

/** `type`: a valid event type; `""` when it is not one (then an issue is reported). */
export function checkType(
  request: Record<string, unknown>,
  where: Where,
  check: RequestCheck,
): string {
  const at = fieldOf(request, where, "type");
  const type = at.value;
  if (type === undefined || type === "") {
    check.log.report(at, "missing_field", "missing event type: `type` must be a non-empty string");
  } else if (typeof type !== "string") {
    check.log.report(at, "wrong_type", `event type must be a string, not ${describe(type)}`);
  } else if (!isEventType(type)) {
    check.log.report(at, "invalid_value", eventTypeProblem(type));
  } else {
    spend(check.walk, type.length + 2, at);
    return type;
  }
  return "";
}

/** `encrypted`: a boolean, required in the legacy format only. */
export function checkEncrypted(
  request: Record<string, unknown>,
  where: Where,
  check: RequestCheck,
  required: boolean,
): boolean | undefined {
  const at = fieldOf(request, where, "encrypted");
  const encrypted = at.value;
  if (typeof encrypted === "boolean") {
    spend(check.walk, encrypted ? 4 : 5, where);
    return encrypted;
  }
  if (encrypted !== undefined) {
    check.log.report(
      at,
      "wrong_type",
      `encryption flag must be a boolean, not ${describe(encrypted)}`,
    );
  } else if (required) {
    check.log.report(
      at,
      "missing_field",
      "missing encryption flag: `encrypted` must be true or false",
    );
  }
  return undefined;
}

/** Content a widget sends may not carry `scope`: receivers trust it for room filtering (3.3, 7). */
export function checkContent(where: Where, check: RequestCheck): void {
  if (!walkJsonObject(where, check.walk)) return;
  const content = where.value as Record<string, unknown>;
  if (hasOwn(content, "scope")) {
    check.log.report(
      inside(where, "scope", content.scope),
      "invalid_value",
      "`scope` is stamped by the host; a widget may not set it in content",
    );
  }
}

/** Fields the format does not define, each reported at its own path. */
export function checkUnknownFields(
  request: Record<string, unknown>,
  where: Where,
  check: RequestCheck,
  allowed: ReadonlyArray<string>,
  format: string,
): void {
  for (const key of Object.keys(request)) {
    if (allowed.includes(key)) continue;
    check.log.report(
      inside(where, key, request[key]),
      "unknown_field",
      `unknown field \`${key}\` in a ${format} request`,
    );
  }
}

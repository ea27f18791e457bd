import { type IssueLog, inside, isPlainObject, type Where } from "./issue-log.js";
import type { Limits } from "./limits.js";

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue };

/** A JSON object: the shape of every Matrix event content. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/**
 * The running state of walking one request's JSON: bytes so far against the request limit.
 * Shared by every content of a request so that the limit holds for the whole request.
 */
export interface JsonWalk {
  readonly limits: Limits;
  readonly log: IssueLog;
  bytes: number;
  overBudget: boolean;
}

export function newWalk(limits: Limits, log: IssueLog): JsonWalk {
  return { limits, log, bytes: 0, overBudget: false };
}

/**
 * Adds `bytes` to the walk. Past the limit it reports the request as too large (once, at
 * `where`) and answers false: the caller stops walking there.
 */
export function spend(walk: JsonWalk, bytes: number, where: Where): boolean {
  walk.bytes += bytes;
  return walk.bytes <= walk.limits.maxRequestBytes || overBudget(walk, where);
}

function overBudget(walk: JsonWalk, where: Where): false {
  if (!walk.overBudget) {
    walk.overBudget = true;
    walk.log.report(
      where,
      "limit_exceeded",
      `the request is larger than the limit of ${walk.limits.maxRequestBytes} bytes`,
    );
  }
  return false;
}

/** The brackets (or braces) of a container with `entries` entries, and the commas between. */
export function punctuationBytes(entries: number): number {
  return entries === 0 ? 2 : entries + 1;
}

/** A key as JSON writes it before its value: quotes and colon (`"key":`). */
export function keyBytes(key: string): number {
  return key.length + 3;
}

/**
 * Checks that the value at `where` is a JSON object within the limits, and counts its size as
 * `Limits` describes: every key, string, number, literal and punctuation mark. The walk stops at
 * the first limit exceeded, so huge inputs, cycles and shared sub-trees end quickly.
 */
export function walkJsonObject(where: Where, walk: JsonWalk): boolean {
  const value = where.value;
  if (!isPlainObject(value)) {
    walk.log.report(where, "wrong_type", `must be a JSON object, not ${describe(value)}`);
    return false;
  }
  return walkContainer(value, 1, where, walk);
}

function walkContainer(value: object, depth: number, where: Where, walk: JsonWalk): boolean {
  if (depth > walk.limits.maxDepth) {
    walk.log.report(
      where,
      "limit_exceeded",
      `nested deeper than the limit of ${walk.limits.maxDepth} levels`,
    );
    return false;
  }
  if (Array.isArray(value)) {
    if (!spend(walk, punctuationBytes(value.length), where)) return false;
    for (let i = 0; i < value.length; i++) {
      if (!walkValue(value[i], depth, where, String(i), walk)) return false;
    }
    return true;
  }
  if (!isPlainObject(value)) {
    walk.log.report(where, "not_json", `${describe(value)} is not a JSON value`);
    return false;
  }
  const keys = Object.keys(value);
  if (!spend(walk, punctuationBytes(keys.length), where)) return false;
  for (const key of keys) {
    if (!spend(walk, keyBytes(key), where)) return false;
    if (!walkValue(value[key], depth, where, key, walk)) return false;
  }
  return true;
}

/** One value inside a container; its own place is built only for a nested container or an issue. */
function walkValue(
  value: unknown,
  depth: number,
  parent: Where,
  key: string,
  walk: JsonWalk,
): boolean {
  switch (typeof value) {
    case "string":
      return spend(walk, value.length + 2, parent);
    case "boolean":
      return spend(walk, value ? 4 : 5, parent);
    case "number":
      if (Number.isFinite(value)) return spend(walk, String(value).length, parent);
      walk.log.report(inside(parent, key, value), "not_json", `${value} is not a JSON number`);
      return false;
    case "object":
      if (value === null) return spend(walk, 4, parent);
      return walkContainer(value, depth + 1, inside(parent, key, value), walk);
    default:
      walk.log.report(
        inside(parent, key, value),
        "not_json",
        `${describe(value)} is not a JSON value`,
      );
      return false;
  }
}

/** Names a value's kind for an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    try {
      if (Array.isArray(value)) return "an array";
      const tag = Object.prototype.toString.call(value).slice(8, -1);
      return tag === "Object" ? "an object" : `a ${tag}`;
    } catch {
      // A revoked proxy, or one whose `Symbol.toStringTag` getter throws.
      return "an object that cannot be read";
    }
  }
  if (typeof value === "string") return "a string";
  if (typeof value === "undefined") return "undefined";
  return `a ${typeof value}`;
}

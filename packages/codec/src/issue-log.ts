import * as t from "io-ts";
import type { CodedValidationError, IssueCode } from "./codec-issue.js";

/**
 * Where a value sits in the input: the root's io-ts context, or a key inside another place.
 * Walks build these small links as they go (one per user or nested object, none per device) and
 * turn them into an io-ts context only when an issue is reported there.
 */
export type Where =
  | { readonly context: t.Context; readonly value: unknown }
  | { readonly parent: Where; readonly key: string; readonly value: unknown };

/** The place of the input itself. */
export function rootOf(context: t.Context, value: unknown): Where {
  return { context, value };
}

/** The place of `key`, holding `value`, inside `parent`. */
export function inside(parent: Where, key: string, value: unknown): Where {
  return { parent, key, value };
}

/** The io-ts context of a place: built only for a report. */
export function contextOf(where: Where): t.Context {
  const path: Array<{ readonly key: string; readonly value: unknown }> = [];
  let place = where;
  while ("parent" in place) {
    path.push(place);
    place = place.parent;
  }
  let context = place.context;
  for (let i = path.length - 1; i >= 0; i--) {
    const step = path[i] as { readonly key: string; readonly value: unknown };
    context = t.appendContext(context, step.key, t.unknown, step.value);
  }
  return context;
}

/**
 * Collects the validation errors of one decode, at most `max` of them: a hostile input with a
 * million bad entries gets a short answer, not a million-line one.
 */
export class IssueLog {
  readonly errors: CodedValidationError[] = [];
  private dropped = 0;

  constructor(private readonly max: number) {}

  /** The one reporter: `code` and `message` for the value at `where`. */
  report(where: Where, code: IssueCode, message: string): void {
    if (this.errors.length < this.max) {
      this.errors.push({ value: where.value, context: contextOf(where), code, message });
    } else this.dropped++;
  }

  get isEmpty(): boolean {
    return this.errors.length === 0;
  }

  /** The collected errors, with a last one counting those left out. */
  result(root: t.Context): t.Errors {
    if (this.dropped === 0) return this.errors;
    const summary: CodedValidationError = {
      value: undefined,
      context: root,
      code: "too_many_issues",
      message: `${this.dropped} more issues not listed`,
    };
    return [...this.errors, summary];
  }
}

export function hasOwn(object: object, key: string): boolean {
  return Object.hasOwn(object, key);
}

/** A plain object (not an array, class instance, Date or Map), from any realm. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  // Objects cloned from another realm have that realm's Object.prototype.
  return (
    Object.getPrototypeOf(proto) === null &&
    Object.prototype.toString.call(value) === "[object Object]"
  );
}

/** Reads an own property only: inherited `constructor` or `toString` never count as fields. */
export function ownField(object: Record<string, unknown>, key: string): unknown {
  return hasOwn(object, key) ? object[key] : undefined;
}

/** Writes an own, enumerable property, even for keys such as `__proto__`. */
export function setOwn<V>(object: Record<string, V>, key: string, value: V): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

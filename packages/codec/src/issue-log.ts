import * as t from "io-ts";
import type { CodedValidationError, IssueCode } from "./codec-issue.js";

/**
 * Collects the validation errors of one decode, at most `max` of them: a hostile input with a
 * million bad entries gets a short answer, not a million-line one.
 */
export class IssueLog {
  readonly errors: CodedValidationError[] = [];
  private dropped = 0;

  constructor(private readonly max: number) {}

  add(value: unknown, context: t.Context, code: IssueCode, message: string): void {
    if (this.errors.length < this.max) this.errors.push({ value, context, code, message });
    else this.dropped++;
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

/** The context of `key` inside `parent`: built only where an issue needs a path. */
export function childContext(
  parent: t.Context,
  key: string,
  decoder: t.Decoder<unknown, unknown>,
  actual: unknown,
): t.Context {
  return t.appendContext(parent, key, decoder, actual);
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

import * as t from "io-ts";
import type { CodedValidationError, IssueCode } from "./codec-issue.js";
import { isPlainObject, ownField, setOwn } from "./issue-log.js";
import { describe } from "./json-content.js";

// io-ts combinators for the cold paths (replies, scopes, the to-widget message): they compose
// like `t.type` and `t.record`, but read own fields of plain objects only (never an inherited
// `constructor` or a polluted prototype), keep `__proto__` keys as plain keys, and say what is
// wrong in the protocol's words. The hot paths are hand-written (docs/adr/0004-codec-speed.md).

/** One error of `code` at `context`. */
export function coded(
  value: unknown,
  context: t.Context,
  code: IssueCode,
  message: string,
): CodedValidationError {
  return { value, context, code, message };
}

/** A failure of `code` at `context`. */
export function issue(
  value: unknown,
  context: t.Context,
  code: IssueCode,
  message: string,
): t.Validation<never> {
  return t.failures([coded(value, context, code, message)]);
}

/** What a thrown value says, without trusting it: its `toString` may throw too. */
function whatWasThrown(error: unknown): string {
  try {
    return String(error);
  } catch {
    return "an exception";
  }
}

/**
 * The codec with an `is` and a `validate` that never throw: an exotic input (a proxy with
 * throwing traps, a throwing getter) is a failure, not an exception.
 */
export function neverThrowing<A, O>(
  codec: t.Type<A, O, unknown>,
  what = "the value",
): t.Type<A, O, unknown> {
  return new t.Type<A, O, unknown>(
    codec.name,
    (u): u is A => {
      try {
        return codec.is(u);
      } catch {
        return false;
      }
    },
    (u, c) => {
      try {
        return codec.validate(u, c);
      } catch (error) {
        return issue(u, c, "wrong_type", `${what} could not be read: ${whatWasThrown(error)}`);
      }
    },
    codec.encode,
  );
}

/** A string of a grammar: `what` names it in messages, `problem` says why a string is not one. */
export function stringOf(
  name: string,
  what: string,
  valid: (value: string) => boolean,
  problem: (value: string) => string,
): t.Type<string, string, unknown> {
  return neverThrowing(
    new t.Type<string, string, unknown>(
      name,
      (u): u is string => typeof u === "string" && valid(u),
      (u, c) => {
        if (typeof u !== "string") {
          const code = u === undefined ? "missing_field" : "wrong_type";
          return issue(u, c, code, `must be ${what}, not ${describe(u)}`);
        }
        return valid(u) ? t.success(u) : issue(u, c, "invalid_value", problem(u));
      },
      t.identity,
    ),
  );
}

type Fields = Record<string, t.Mixed>;
/** One object type instead of an intersection: what declarations and API reports show. */
type Flat<T> = { [K in keyof T]: T[K] };
type Decoded<R extends Fields, O extends Fields> = Flat<
  { readonly [K in keyof R]: t.TypeOf<R[K]> } & { readonly [K in keyof O]?: t.TypeOf<O[K]> }
>;
type Encoded<R extends Fields, O extends Fields> = Flat<
  { readonly [K in keyof R]: t.OutputOf<R[K]> } & { readonly [K in keyof O]?: t.OutputOf<O[K]> }
>;

export interface StructOptions {
  /** Words for the object in messages, e.g. "`matrix_api_error`". */
  readonly what: string;
  /** `refuse`: any other field is an issue; `drop`: other fields are left out of the result. */
  readonly otherFields: "refuse" | "drop";
}

/**
 * A plain object with `required` and `optional` fields, like `t.exact(t.intersection([t.type(required),
 * t.partial(optional)]))`. An optional field holding `undefined` counts as absent.
 */
export function struct<R extends Fields, O extends Fields>(
  name: string,
  required: R,
  optional: O,
  options: StructOptions,
): t.Type<Decoded<R, O>, Encoded<R, O>, unknown> {
  const validate = (u: unknown, c: t.Context): t.Validation<Decoded<R, O>> => {
    if (!isPlainObject(u)) {
      return issue(u, c, "wrong_type", `${options.what} must be an object, not ${describe(u)}`);
    }
    const errors: t.ValidationError[] = [];
    const result: Record<string, unknown> = {};
    const field = (key: string, codec: t.Mixed, value: unknown): void => {
      const checked = codec.validate(value, t.appendContext(c, key, codec, value));
      if (checked._tag === "Left") errors.push(...checked.left);
      else setOwn(result, key, checked.right);
    };
    for (const key of Object.keys(u)) {
      if (Object.hasOwn(required, key) || Object.hasOwn(optional, key)) continue;
      if (options.otherFields === "refuse") {
        const at = t.appendContext(c, key, t.unknown, u[key]);
        errors.push(coded(u[key], at, "unknown_field", `unknown field in ${options.what}`));
      }
    }
    for (const [key, codec] of Object.entries(required)) {
      const value = ownField(u, key);
      if (value === undefined) {
        const at = t.appendContext(c, key, codec, value);
        errors.push(coded(value, at, "missing_field", `missing: ${options.what} requires it`));
      } else field(key, codec, value);
    }
    for (const [key, codec] of Object.entries(optional)) {
      const value = ownField(u, key);
      if (value !== undefined) field(key, codec, value);
    }
    return errors.length === 0 ? t.success(result as Decoded<R, O>) : t.failures(errors);
  };
  // A value of the type, by its fields' own `is`: a field may decode from more than its type
  // (matrix-rust-sdk's list form of `failures`), and `is` speaks of the type.
  const is = (u: unknown): u is Decoded<R, O> => {
    if (!isPlainObject(u)) return false;
    if (options.otherFields === "refuse") {
      for (const key of Object.keys(u)) {
        if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) return false;
      }
    }
    for (const [key, codec] of Object.entries(required)) {
      const value = ownField(u, key);
      if (value === undefined || !codec.is(value)) return false;
    }
    for (const [key, codec] of Object.entries(optional)) {
      const value = ownField(u, key);
      if (value !== undefined && !codec.is(value)) return false;
    }
    return true;
  };
  return neverThrowing(
    new t.Type<Decoded<R, O>, Encoded<R, O>, unknown>(name, is, validate, (a) => {
      const wire: Record<string, unknown> = {};
      const source = a as Record<string, unknown>;
      for (const [key, codec] of [...Object.entries(required), ...Object.entries(optional)]) {
        const value = ownField(source, key);
        if (value !== undefined) setOwn(wire, key, codec.encode(value));
      }
      return wire as Encoded<R, O>;
    }),
  );
}

export interface RecordOptions {
  /** Words for the map in messages, e.g. "`failures`". */
  readonly what: string;
  /** Whether a key may be used; `keyProblem` says why not. */
  readonly validKey: (key: string) => boolean;
  readonly keyProblem: (key: string) => string;
  /** Whether an empty map is an issue; the message says why. */
  readonly nonEmpty?: string;
}

/** A plain object from keys of a grammar to values of `codec`, like `t.record`. */
export function recordOf<C extends t.Mixed>(
  name: string,
  codec: C,
  options: RecordOptions,
): t.Type<Readonly<Record<string, t.TypeOf<C>>>, Readonly<Record<string, t.OutputOf<C>>>, unknown> {
  type A = Readonly<Record<string, t.TypeOf<C>>>;
  const validate = (u: unknown, c: t.Context): t.Validation<A> => {
    if (!isPlainObject(u)) {
      return issue(u, c, "wrong_type", `${options.what} must be an object, not ${describe(u)}`);
    }
    const keys = Object.keys(u);
    if (keys.length === 0 && options.nonEmpty !== undefined) {
      return issue(u, c, "invalid_value", options.nonEmpty);
    }
    const errors: t.ValidationError[] = [];
    const result: Record<string, t.TypeOf<C>> = {};
    for (const key of keys) {
      const value = u[key];
      const at = t.appendContext(c, key, codec, value);
      if (!options.validKey(key)) {
        errors.push(coded(value, at, "invalid_value", options.keyProblem(key)));
        continue;
      }
      const checked = codec.validate(value, at);
      if (checked._tag === "Left") errors.push(...checked.left);
      else setOwn(result, key, checked.right);
    }
    return errors.length === 0 ? t.success(result) : t.failures(errors);
  };
  // A value of the type, by the values' own `is` (see `struct`).
  const is = (u: unknown): u is A => {
    if (!isPlainObject(u)) return false;
    const keys = Object.keys(u);
    if (keys.length === 0 && options.nonEmpty !== undefined) return false;
    return keys.every((key) => options.validKey(key) && codec.is(u[key]));
  };
  return neverThrowing(
    new t.Type<A, Readonly<Record<string, t.OutputOf<C>>>, unknown>(name, is, validate, (a) => {
      const wire: Record<string, t.OutputOf<C>> = {};
      for (const key of Object.keys(a)) setOwn(wire, key, codec.encode(a[key]));
      return wire;
    }),
  );
}

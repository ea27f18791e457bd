import { type CodecIssue, issuesOf, type JsonObject } from "@widget-todevice/codec";
import type * as t from "io-ts";
import type { StandardSchemaV1 } from "./standard-schema.js";

// What a subscription checks a content with: a Standard Schema (zod 4, valibot 1, arktype 2,
// ...), an io-ts decoder, or a type guard. One shape inside, `validateContent`, whichever it is.

/**
 * Checks the contents of a subscription and gives handlers their type: any Standard Schema v1
 * validator (`z.object(...)`, `v.object(...)`, `type({...})`), an io-ts codec or decoder
 * (`t.type(...)`), or a type guard (`(content: unknown) => content is Ping`).
 */
export type ContentValidator =
  | StandardSchemaV1
  | t.Decoder<unknown, unknown>
  | ((content: JsonObject) => boolean);

/** The content type a validator gives handlers; `JsonObject` without one (or for a plain predicate). */
export type ContentOf<V> = V extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<V>
  : V extends t.Decoder<unknown, infer A>
    ? A
    : // biome-ignore lint/suspicious/noExplicitAny: matches a type guard on any parameter type.
      V extends (content: any) => content is infer G
      ? G
      : JsonObject;

/** A validator's verdict on one content. */
export type ContentValidation =
  | { readonly valid: true; readonly content: unknown }
  | { readonly valid: false; readonly issues: ReadonlyArray<CodecIssue>; readonly cause?: unknown };

function isStandardSchema(validator: unknown): validator is StandardSchemaV1 {
  // arktype's types are functions, zod's and valibot's objects: both carry `~standard`.
  return (
    (typeof validator === "object" || typeof validator === "function") &&
    validator !== null &&
    "~standard" in validator
  );
}

function isDecoder(validator: unknown): validator is t.Decoder<unknown, unknown> {
  return (
    typeof validator === "object" &&
    validator !== null &&
    typeof (validator as { decode?: unknown }).decode === "function"
  );
}

/** Whether `value` can be used as a subscription's `content` option. */
export function isContentValidator(value: unknown): value is ContentValidator {
  return isStandardSchema(value) || isDecoder(value) || typeof value === "function";
}

/**
 * Runs `validator` on `content`. Synchronous for io-ts and type guards, and for Standard
 * Schemas that validate synchronously; a promise only where the schema returned one. Never
 * throws: a validator that throws or rejects is a verdict of invalid, with the `cause`.
 */
export function validateContent(
  validator: ContentValidator,
  content: JsonObject,
): ContentValidation | Promise<ContentValidation> {
  try {
    // Standard Schema first: zod 4's schemas also have a `decode` method, arktype's are functions.
    if (isStandardSchema(validator)) {
      const result = validator["~standard"].validate(content);
      if (isThenable(result)) {
        return Promise.resolve(result).then(standardValidation).catch(validatorFailed);
      }
      return standardValidation(result);
    }
    if (isDecoder(validator)) {
      const decoded = validator.decode(content);
      return decoded._tag === "Right"
        ? { valid: true, content: decoded.right }
        : { valid: false, issues: issuesOf(decoded.left) };
    }
    return validator(content)
      ? { valid: true, content }
      : {
          valid: false,
          issues: [
            {
              path: "",
              code: "invalid_value",
              message: "the subscription's type guard refused it",
            },
          ],
        };
  } catch (error) {
    return validatorFailed(error);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === "function";
}

function standardValidation(result: StandardSchemaV1.Result<unknown>): ContentValidation {
  // The specification: a falsy `issues` is a success.
  if (!result.issues) return { valid: true, content: result.value };
  return {
    valid: false,
    issues: result.issues.map((issue) => ({
      path: pathOf(issue.path),
      code: "invalid_value",
      message: issue.message,
    })),
  };
}

function validatorFailed(error: unknown): ContentValidation {
  return {
    valid: false,
    issues: [
      { path: "", code: "invalid_value", message: `the validator failed: ${String(error)}` },
    ],
    cause: error,
  };
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A Standard Schema path as the codec writes paths: `keys[0].key`, `member["@a:b"]`. */
function pathOf(path: StandardSchemaV1.Issue["path"]): string {
  let text = "";
  for (const segment of path ?? []) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER.test(key)) text += text === "" ? key : `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

import type * as t from "io-ts";
import { describe } from "./json-content.js";

/** What kind of problem an issue is; stable, so that callers can map issues to their own words. */
export type IssueCode =
  | "missing_field"
  | "wrong_type"
  | "invalid_value"
  | "unknown_field"
  | "conflicting_fields"
  | "duplicate"
  | "limit_exceeded"
  | "not_json"
  | "too_many_issues";

/** One thing wrong with an input: where (a JSON path) and what. */
export interface CodecIssue {
  /** Where, for example `recipient_devices["@bob:example.org"][1]`; `""` is the input itself. */
  readonly path: string;
  /** What is wrong, in words a widget author can act on. */
  readonly message: string;
  readonly code: IssueCode;
}

/** An io-ts validation error that also says which kind of issue it is. */
export interface CodedValidationError extends t.ValidationError {
  readonly code: IssueCode;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `Array.isArray`, false for a revoked proxy (on which it throws). */
function isArray(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

/** Renders an io-ts context as a JSON path: `.field`, `["@user:server"]`, `[3]`. */
export function pathOf(context: t.Context): string {
  let path = "";
  // Entry 0 is the root codec itself.
  for (let i = 1; i < context.length; i++) {
    const entry = context[i] as t.ContextEntry;
    const parent = (context[i - 1] as t.ContextEntry).actual;
    if (isArray(parent)) path += `[${entry.key}]`;
    else if (IDENTIFIER.test(entry.key)) path += path === "" ? entry.key : `.${entry.key}`;
    else path += `[${JSON.stringify(entry.key)}]`;
  }
  return path;
}

/** Turns io-ts errors into issues, in the order they were found. */
export function issuesOf(errors: t.Errors): ReadonlyArray<CodecIssue> {
  return errors.map((error) => {
    const path = pathOf(error.context);
    const coded = (error as Partial<CodedValidationError>).code;
    if (coded !== undefined && error.message !== undefined) {
      return { path, message: error.message, code: coded };
    }
    // A plain io-ts codec's error (`t.string`, `t.number`...): its name says what was expected.
    const last = error.context[error.context.length - 1];
    const missing = error.value === undefined;
    const expected = last === undefined ? "a valid value" : last.type.name;
    const message =
      error.message ??
      (missing
        ? `missing: must be ${expected}`
        : `must be ${expected}, not ${describe(error.value)}`);
    return { path, message, code: coded ?? (missing ? "missing_field" : "wrong_type") };
  });
}

/** One line per issue, for logs and error replies. */
export function formatIssues(issues: ReadonlyArray<CodecIssue>): string {
  return issues
    .map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
    .join("; ");
}

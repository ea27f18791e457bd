import { FORMAT_IDENTIFIERS } from "@widget-todevice/codec";
import { CurrentApiVersions } from "matrix-widget-api";

/** Section 2: the stock versions plus this project's format identifiers. */
export function supportedApiVersions(): string[] {
  return [...new Set([...CurrentApiVersions, ...FORMAT_IDENTIFIERS])];
}

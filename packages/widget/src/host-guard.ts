import {
  type WidgetApi,
  WidgetApiDirection,
  WidgetApiFromWidgetAction,
  WidgetApiToWidgetAction,
} from "matrix-widget-api";
import { quote } from "./errors.js";
import { isJsonObject } from "./json-object.js";

// The host is untrusted input. matrix-widget-api trusts two negotiation messages it should not:
// a `supported_api_versions` answer without a `supported_versions` array (its `start()` and
// capability handling then throw, leaving unhandled rejections and a `ready` that never comes,
// or match a string by substring) and a `notify_capabilities` without an `approved` array (it
// throws, or with `approved: null` treats every requested capability as granted). The guard sees
// the host's messages before the widget API does, stops these two, and reports them.

/** A negotiation message from the host that the guard stopped, and why. */
export interface HostMisbehaviour {
  readonly problem: string;
  readonly message: unknown;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Why a host's answer to `supported_api_versions` is malformed, if it is (section 2). */
export function supportedVersionsProblem(response: unknown): string | undefined {
  // A well-formed error answer is the widget API's business: it falls back to no versions.
  if (
    isJsonObject(response) &&
    isJsonObject(response.error) &&
    typeof response.error.message === "string"
  )
    return undefined;
  if (!isJsonObject(response)) return `the answer is ${quote(response)}, not an object`;
  if (!isStringArray(response.supported_versions)) {
    return `supported_versions must be an array of strings, not ${quote(response.supported_versions)}`;
  }
  return undefined;
}

/** Why a host's `notify_capabilities` request data is malformed, if it is. */
export function notifyCapabilitiesProblem(data: unknown): string | undefined {
  if (!isJsonObject(data))
    return `data must be {"requested": [...], "approved": [...]}, not ${quote(data)}`;
  if (!isStringArray(data.approved)) {
    return `data.approved must be an array of capabilities, not ${quote(data.approved)}`;
  }
  if (data.requested !== undefined && !isStringArray(data.requested)) {
    return `data.requested must be an array of capabilities, not ${quote(data.requested)}`;
  }
  return undefined;
}

/**
 * Listens to the page's messages ahead of the widget API: registered before `api.start()`, it runs
 * first. Malformed negotiation messages for this widget go no further: a request is answered with
 * an error naming what was wrong, and `report` is told. The guard stays while the widget API
 * runs (it outlives `close()`, which leaves the widget API running) and goes when it stops.
 */
export function guardHostMessages(
  api: WidgetApi,
  report: (misbehaviour: HostMisbehaviour) => void,
): () => void {
  const onMessage = (event: MessageEvent): void => {
    // The widget API stopped for good: nothing left to protect.
    if (!api.transport.ready) {
      stop();
      return;
    }
    const message: unknown = event.data;
    if (!isJsonObject(message) || typeof message.requestId !== "string") return;
    const widgetId = api.transport.widgetId;
    if (widgetId !== null && message.widgetId !== widgetId) return;
    let problem: string | undefined;
    if (
      message.api === WidgetApiDirection.FromWidget &&
      message.action === WidgetApiFromWidgetAction.SupportedApiVersions &&
      message.response !== undefined
    ) {
      problem = supportedVersionsProblem(message.response);
      if (problem !== undefined) problem = `its answer to supported_api_versions: ${problem}`;
    } else if (
      message.api === WidgetApiDirection.ToWidget &&
      message.action === WidgetApiToWidgetAction.NotifyCapabilities &&
      message.response === undefined
    ) {
      problem = notifyCapabilitiesProblem(message.data);
      if (problem !== undefined) {
        try {
          api.transport.reply(message as never, {
            error: { message: `Invalid notify_capabilities: ${problem}` },
          });
        } catch {
          // The transport is stopped: nobody is left to answer.
        }
        problem = `its notify_capabilities: ${problem}`;
      }
    }
    if (problem === undefined) return;
    event.stopImmediatePropagation();
    report({ problem, message });
  };
  const stop = (): void => globalThis.removeEventListener("message", onMessage, { capture: true });
  globalThis.addEventListener("message", onMessage, { capture: true });
  return stop;
}

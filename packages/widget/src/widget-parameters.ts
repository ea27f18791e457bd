import { isUserId } from "@widget-todevice/codec";
import { readDeviceId, templateValue } from "./device-id.js";

/**
 * What the host tells a widget about itself through the widget's URL: the conventions of
 * matrix-widget-api, Element Web (which appends `widgetId` and `parentUrl`) and matrix-js-sdk's
 * `RoomWidgetClient` widgets such as Element Call (`userId`, `roomId`, `deviceId`).
 */
export interface WidgetParameters {
  readonly widgetId?: string;
  /** The URL of the page embedding the widget; its origin is where requests are posted. */
  readonly parentUrl?: string;
  readonly userId?: string;
  /** Absent for a widget not bound to a room (an account widget). */
  readonly roomId?: string;
  /** The device of the client rendering the widget (section 9). */
  readonly deviceId?: string;
}

// Each field's parameter names, in order: the convention, then the template variable's name.
const NAMES = {
  widgetId: ["widgetId", "matrix_widget_id"],
  parentUrl: ["parentUrl"],
  userId: ["userId", "matrix_user_id"],
  roomId: ["roomId", "matrix_room_id"],
} as const;

/**
 * Parameters of the query string, then of the fragment (`#?roomId=...`, as Element Call uses),
 * the query string winning where both have one.
 */
function parametersOf(url: URL): URLSearchParams {
  const merged = new URLSearchParams(url.search);
  const hash = url.hash.replace(/^#/, "");
  const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : hash;
  // forEach: the DOM lib types URLSearchParams as iterable only with DOM.Iterable.
  new URLSearchParams(query).forEach((value, name) => {
    if (!merged.has(name)) merged.append(name, value);
  });
  return merged;
}

/** Reads the widget's parameters from its URL (by default the page's own location). */
export function readWidgetParameters(url: string | URL): WidgetParameters {
  const parameters = parametersOf(new URL(url));
  const first = (names: ReadonlyArray<string>): string | undefined => {
    for (const name of names) {
      const value = templateValue(parameters.get(name));
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const widgetId = first(NAMES.widgetId);
  const parentUrl = first(NAMES.parentUrl);
  const userId = first(NAMES.userId);
  const roomId = first(NAMES.roomId);
  const deviceId = readDeviceId(parameters);
  return {
    ...(widgetId === undefined ? {} : { widgetId }),
    ...(parentUrl === undefined ? {} : { parentUrl }),
    ...(userId === undefined || !isUserId(userId) ? {} : { userId }),
    ...(roomId === undefined ? {} : { roomId }),
    ...(deviceId === undefined ? {} : { deviceId }),
  };
}

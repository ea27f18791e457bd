/**
 * A widget in a frame (`@widget-todevice/widget-frames`) whose widget side is handed out
 * unstarted, so that a `RoomWidgetClient` (which starts its `WidgetApi` itself) or a stock widget
 * can drive it. Every frame of a test needs its own widget ID.
 */
import { WidgetFrame } from "@widget-todevice/widget-frames";
import type { WidgetDriver } from "matrix-widget-api";

export { HOST_ORIGIN, WIDGET_ORIGIN } from "@widget-todevice/widget-frames";

export interface FrameOptions {
  readonly widgetId: string;
  /** The host's `WidgetDriver`: what it approves and which room data it serves. */
  readonly driver: WidgetDriver;
  readonly creatorUserId?: string;
}

/** The widget's `widgetApi` (not started), the host's `clientApi`, and `toWidget`. */
export type Frame = Pick<WidgetFrame, "widgetApi" | "clientApi" | "toWidget" | "stop">;

/**
 * Opens a frame whose widget says `content_loaded` itself (`waitForIframeLoad: false`, as
 * Element Web embeds Element Call): the host negotiates capabilities once the widget started.
 */
export function openFrame(options: FrameOptions): Frame {
  return new WidgetFrame({ ...options, type: "m.call", widgetStartsItself: true });
}

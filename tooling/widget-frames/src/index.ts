export { FrameWindow, HOST_ORIGIN, WIDGET_ORIGIN } from "./frame-window.js";
export {
  type Grant,
  type Reply,
  TestWidgetDriver,
  WidgetFrame,
  type WidgetFrameOptions,
} from "./widget-frame.js";

/**
 * A widget in a frame for the driver's tests (`@widget-todevice/widget-frames`, under
 * happy-dom): by default the host approves every grantable to-device capability through the
 * driver's own capability helper.
 */

import { WidgetFrame as Frame } from "@widget-todevice/widget-frames";
import { validateToDeviceCapabilities } from "../../src/index.js";

export {
  FrameWindow,
  HOST_ORIGIN,
  type Reply,
  TestWidgetDriver,
  WIDGET_ORIGIN,
  type WidgetFrameOptions,
} from "@widget-todevice/widget-frames";

export const WidgetFrame = Frame.granting((requested) =>
  validateToDeviceCapabilities(requested, () => true),
);
export type WidgetFrame = Frame;

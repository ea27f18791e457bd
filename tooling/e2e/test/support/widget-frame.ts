/**
 * A widget in a frame for the end-to-end tests (`@widget-todevice/widget-frames`, on the page
 * globals of `@widget-todevice/matrix-clients/node-window`): by default the host approves every
 * grantable to-device capability through the published driver's capability helper.
 */
import { validateToDeviceCapabilities } from "@widget-todevice/driver";
import { WidgetFrame as Frame } from "@widget-todevice/widget-frames";

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

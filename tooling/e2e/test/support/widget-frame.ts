/**
 * A widget in a frame for the end-to-end tests (`@widget-todevice/widget-frames`, on the page
 * globals of `@widget-todevice/matrix-clients/node-window`): by default the host approves every
 * grantable to-device capability through the published driver's capability helper, and
 * `advertisesFormats: true` advertises every format identifier the codec knows (a newer widget).
 */
import { FORMAT_IDENTIFIERS } from "@widget-todevice/codec";
import { validateToDeviceCapabilities } from "@widget-todevice/driver";
import {
  WidgetFrame as Frame,
  type WidgetFrameOptions as FrameOptions,
} from "@widget-todevice/widget-frames";

export {
  FrameWindow,
  HOST_ORIGIN,
  type Reply,
  TestWidgetDriver,
  WIDGET_ORIGIN,
} from "@widget-todevice/widget-frames";

export interface WidgetFrameOptions extends Omit<FrameOptions, "advertisesFormats"> {
  /** `true` for every format identifier; a list for those; nothing for a stock widget. */
  readonly advertisesFormats?: boolean | ReadonlyArray<string>;
}

/** Every grantable to-device capability, through the driver's capability helper. */
const grantEveryToDeviceCapability = (requested: Set<string>) =>
  validateToDeviceCapabilities(requested, () => true);

export class WidgetFrame extends Frame {
  constructor(options: WidgetFrameOptions = {}) {
    const { advertisesFormats, ...rest } = options;
    const formats =
      advertisesFormats === true ? FORMAT_IDENTIFIERS : advertisesFormats || undefined;
    super({
      ...(rest.driver === undefined ? { grant: grantEveryToDeviceCapability } : {}),
      ...rest,
      ...(formats === undefined ? {} : { advertisesFormats: formats }),
    });
  }
}

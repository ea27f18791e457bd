/**
 * A widget in a frame for the driver's tests (`@widget-todevice/widget-frames`, under
 * happy-dom): by default the host approves every grantable to-device capability through the
 * driver's own capability helper, and `advertisesFormats: true` advertises every format
 * identifier the codec knows (a newer widget).
 */
import { FORMAT_IDENTIFIERS } from "@widget-todevice/codec";
import {
  WidgetFrame as Frame,
  type WidgetFrameOptions as FrameOptions,
} from "@widget-todevice/widget-frames";
import { validateToDeviceCapabilities } from "../../src/index.js";

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

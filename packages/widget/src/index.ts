// @widget-todevice/widget: MSC3819 to-device messaging for widget authors, on matrix-widget-api.

// The wire shapes are the codec's: re-exported where this package's API shows them.
export type { DeliveryFailures } from "@widget-todevice/codec";
export type { ContentOf, ContentValidator } from "./content-validator.js";
export { MAX_TIMEOUT_MS } from "./deadline.js";
export { DEVICE_ID_PARAMETERS, readDeviceId } from "./device-id.js";
export {
  type CapabilityErrorReason,
  type NegotiationErrorReason,
  type ReceiveErrorReason,
  type SendErrorReason,
  ToDeviceCapabilityError,
  ToDeviceError,
  ToDeviceNegotiationError,
  ToDeviceReceiveError,
  ToDeviceSendError,
} from "./errors.js";
export {
  sendFormat,
  type ToDeviceNegotiation,
  widgetSupportedVersions,
} from "./negotiation.js";
export {
  observeToDevice,
  ToDeviceObserver,
  type ToDeviceObserverOptions,
} from "./observer.js";
export type { Recipients, SendOptions, SendReceipt } from "./send.js";
export type { StandardSchemaV1 } from "./standard-schema.js";
export type {
  MessagesOptions,
  ReceivedToDeviceMessage,
  ReceiveErrorHandler,
  SubscribeOptions,
  ToDeviceHandler,
  Unsubscribe,
} from "./subscription.js";
export { DEFAULT_MAX_BUFFERED } from "./subscription.js";
export {
  type CreateToDeviceWidgetOptions,
  createToDeviceWidget,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_SEND_TIMEOUT_MS,
  ToDeviceWidget,
  type ToDeviceWidgetOptions,
} from "./to-device-widget.js";
export { readWidgetParameters, type WidgetParameters } from "./widget-parameters.js";

// @widget-todevice/driver/matrix-js-sdk: the driver's transport on matrix-js-sdk (an optional
// peer dependency). Kept out of the main entry so that hosts on other SDKs never load it.

export { toSendToDeviceError } from "./matrix-js-sdk-errors.js";
export {
  type MatrixJsSdkClient,
  MatrixJsSdkTransport,
  type MatrixJsSdkTransportOptions,
  type MatrixJsSdkTransportRetained,
  type MatrixOutgoingTrust,
} from "./matrix-js-sdk-transport.js";

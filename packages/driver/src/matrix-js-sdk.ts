// @widget-todevice/driver/matrix-js-sdk: the driver's transport on matrix-js-sdk (an optional
// peer dependency). Kept out of the main entry so that hosts on other SDKs never load it.

import {
  type MatrixJsSdkClient,
  MatrixJsSdkTransport,
  type MatrixJsSdkTransportOptions,
} from "./matrix-js-sdk-transport.js";

export { toSendToDeviceError } from "./matrix-js-sdk-errors.js";
export {
  type MatrixJsSdkClient,
  MatrixJsSdkTransport,
  type MatrixJsSdkTransportOptions,
  type MatrixJsSdkTransportRetained,
  type MatrixOutgoingTrust,
} from "./matrix-js-sdk-transport.js";

/**
 * `new MatrixJsSdkTransport(client, options)`.
 * @deprecated use `new MatrixJsSdkTransport(client, options)`; this alias will be removed.
 */
export function createMatrixJsSdkTransport(
  client: MatrixJsSdkClient,
  options?: MatrixJsSdkTransportOptions,
): MatrixJsSdkTransport {
  return new MatrixJsSdkTransport(client, options);
}

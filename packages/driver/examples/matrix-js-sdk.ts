// The README's matrix-js-sdk set-up, type-checked with the package (`pnpm typecheck`).
import { ToDeviceDriver } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";

/** The driver for one client; call `stop` when the client stops. */
export async function startToDevice(
  client: MatrixClient,
): Promise<{ readonly toDevice: ToDeviceDriver; readonly stop: () => void }> {
  await client.initRustCrypto(); // before encrypted sends
  const transport = new MatrixJsSdkTransport(client, {
    outgoingTrust: "all-devices", // or "exclude-insecure", "verified-only"
    deviceListTimeoutMs: 10_000, // give it the driver's value
  });
  const toDevice = new ToDeviceDriver({ transport });
  return {
    toDevice,
    // The driver does not own the transport, the host does: dispose of both.
    stop: () => {
      toDevice.dispose();
      transport.dispose();
    },
  };
}

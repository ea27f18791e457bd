// The README's example, type-checked with the package (`pnpm typecheck`).
import { ToDeviceDriver, validateToDeviceCapabilities } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import type { MatrixClient, Room } from "matrix-js-sdk";
import { ClientWidgetApi, type Widget, WidgetDriver } from "matrix-widget-api";

/** The host's `WidgetDriver`: to-device capabilities through the driver's helper. */
class HostWidgetDriver extends WidgetDriver {
  constructor(private readonly ask: (description: string) => Promise<boolean>) {
    super();
  }

  override validateCapabilities(requested: Set<string>): Promise<Set<string>> {
    // Reserved types are never approved; each prompt says the grant is account-wide.
    return validateToDeviceCapabilities(requested, (request) => this.ask(request.description));
  }
}

/** One driver per Matrix client (after `await client.initRustCrypto()`). */
export function toDeviceFor(client: MatrixClient): ToDeviceDriver {
  return new ToDeviceDriver({ transport: new MatrixJsSdkTransport(client) });
}

/** Embeds a widget of `room` and attaches the driver; call the result when it goes away. */
export function embed(
  toDevice: ToDeviceDriver,
  widget: Widget,
  iframe: HTMLIFrameElement,
  room: Room,
  ask: (description: string) => Promise<boolean>,
): () => void {
  const api = new ClientWidgetApi(widget, iframe, new HostWidgetDriver(ask));
  const attachment = toDevice.attach(api, {
    roomId: room.roomId, // null for a global (account) widget
    roomEncrypted: () => room.hasEncryptionStateEvent(),
  });
  return () => {
    attachment.detach();
    api.stop();
  };
}

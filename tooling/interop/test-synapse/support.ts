/**
 * The Synapse side of the suite: matrix-js-sdk clients with Rust crypto (real Olm) on the
 * homeserver the global setup started, each running the driver through `MatrixJsSdkTransport`.
 * The clients and rooms come from `@widget-todevice/matrix-clients`.
 */
import { ToDeviceDriver, type WidgetAttachment } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import type { HomeserverClient, UserSession } from "@widget-todevice/homeserver";
import { startClient } from "@widget-todevice/matrix-clients/matrix";
import type { MatrixClient, ReceivedToDeviceMessage } from "matrix-js-sdk";
import type { IRoomEvent, WidgetDriver } from "matrix-widget-api";
import { type Frame, openFrame } from "../test/support/frame.js";

/** The Synapse the global setup started for this run. */
export { homeserver } from "@widget-todevice/matrix-clients/homeserver";
export {
  /** An encrypted room of its owner that every client has seen everyone join (members tracked). */
  encryptedRoom,
  /** Polls every 20 ms until `check` holds. */
  eventually as until,
} from "@widget-todevice/matrix-clients/matrix";

/** A device: a syncing matrix-js-sdk client with Rust crypto, running the driver. */
export interface SynapseDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly client: MatrixClient;
  readonly received: ReceivedToDeviceMessage[];
  readonly driver: ToDeviceDriver;
  /** A frame in this client's host with the driver attached for `roomId`. */
  open(widgetDriver: WidgetDriver, roomId: string): { frame: Frame; attachment: WidgetAttachment };
  /** Detaches and stops every frame opened so far (the client and driver keep running). */
  closeFrames(): void;
  stop(): void;
}

let frames = 0;

export async function startDevice(
  hs: HomeserverClient,
  session: UserSession,
): Promise<SynapseDevice> {
  // A syncing client whose device keys are on the server.
  const { client, received } = await startClient(session, { homeserver: hs });
  const transport = new MatrixJsSdkTransport(client);
  const driver = new ToDeviceDriver({
    transport,
    retry: { initialBackoffMs: 50, maxBackoffMs: 400 },
  });
  const stops: Array<() => void> = [];
  const closeFrames = () => {
    for (const stop of stops.splice(0)) stop();
  };
  return {
    userId: session.userId,
    deviceId: session.deviceId,
    client,
    received,
    driver,
    open(widgetDriver, roomId) {
      frames++;
      const frame = openFrame({
        widgetId: `synapse${frames}`,
        driver: widgetDriver,
        creatorUserId: session.userId,
      });
      const attachment = driver.attach(frame.clientApi, {
        roomId,
        roomEncrypted: () => client.getRoom(roomId)?.hasEncryptionStateEvent() ?? false,
      });
      stops.push(() => {
        attachment.detach();
        frame.stop();
      });
      return { frame, attachment };
    },
    closeFrames,
    stop() {
      closeFrames();
      driver.dispose();
      client.stopClient();
    },
  };
}

/** The room's current state of `eventType` as matrix-js-sdk holds it, in the widget API's shape. */
export function stateFrom(client: MatrixClient) {
  return (roomId: string): IRoomEvent[] => {
    const state = client.getRoom(roomId)?.currentState;
    if (state === undefined) return [];
    return [...state.events.values()].flatMap((byKey) =>
      [...byKey.values()].map((event) => event.getEffectiveEvent() as IRoomEvent),
    );
  };
}

/**
 * The Synapse side of the suite: matrix-js-sdk clients with Rust crypto (real Olm) on the
 * homeserver the global setup started, each running the driver through `MatrixJsSdkTransport`.
 * Adapted from `@widget-todevice/matrix-clients/matrix`, cut down to what these tests need.
 */
import { ToDeviceDriver, type WidgetAttachment } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import {
  type HomeserverClient,
  homeserverClient,
  type UserSession,
} from "@widget-todevice/homeserver";
import {
  ClientEvent,
  createClient,
  type MatrixClient,
  type ReceivedToDeviceMessage,
  SyncState,
} from "matrix-js-sdk";
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import type { IRoomEvent, WidgetDriver } from "matrix-widget-api";
import { inject } from "vitest";
import { type Frame, openFrame } from "../test/support/frame.js";

const quiet: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  getChild: () => quiet,
};

/** The Synapse the global setup started for this run. */
export function homeserver(): HomeserverClient {
  return homeserverClient(inject("homeserver"));
}

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
  const client = createClient({
    baseUrl: hs.baseUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    logger: quiet,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const received: ReceivedToDeviceMessage[] = [];
  client.on(ClientEvent.ReceivedToDeviceMessage, (message) => received.push(message));
  const prepared = new Promise<void>((resolve, reject) => {
    client.on(ClientEvent.Sync, (state: SyncState) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) resolve();
      else if (state === SyncState.Error) reject(new Error(`${session.userId}: first sync failed`));
    });
  });
  await client.startClient({ initialSyncLimit: 0, lazyLoadMembers: false });
  await prepared;
  await waitForDeviceKeys(hs, session);
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

/** Waits until the server has the session's device keys (uploaded after the first sync). */
async function waitForDeviceKeys(hs: HomeserverClient, session: UserSession): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${hs.baseUrl}/_matrix/client/v3/keys/query`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ device_keys: { [session.userId]: [session.deviceId] } }),
    });
    const body = (await response.json()) as {
      device_keys?: Record<string, Record<string, unknown>>;
    };
    if (body.device_keys?.[session.userId]?.[session.deviceId] !== undefined) return;
    if (Date.now() > deadline) throw new Error(`no device keys for ${session.userId}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An encrypted room of `owner` that every device has seen everyone join (members tracked). */
export async function encryptedRoom(
  owner: SynapseDevice,
  others: ReadonlyArray<SynapseDevice>,
): Promise<string> {
  const { room_id: roomId } = await owner.client.createRoom({
    preset: "private_chat" as never,
    invite: others.map((o) => o.userId),
    initial_state: [
      { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ],
  });
  for (const other of others) await other.client.joinRoom(roomId);
  const everyone = [owner, ...others];
  await until(
    () =>
      everyone.every((d) => {
        const room = d.client.getRoom(roomId);
        return (
          room?.hasEncryptionStateEvent() === true &&
          everyone.every((m) => room.getMember(m.userId)?.membership === "join")
        );
      }),
    `everyone to see everyone in ${roomId}`,
  );
  return roomId;
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

/** Polls every 20 ms until `check` holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

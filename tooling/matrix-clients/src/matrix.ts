/**
 * Real Matrix parts for the end-to-end tests: matrix-js-sdk clients with Rust crypto on the real
 * Synapse the global setup started, users with several devices, and encrypted rooms.
 */
import type { HomeserverClient, UserSession } from "@widget-todevice/homeserver";
import {
  ClientEvent,
  createClient,
  type MatrixClient,
  type ReceivedToDeviceMessage,
  SyncState,
} from "matrix-js-sdk";
import { type Logger, logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

/** matrix-js-sdk logs a great deal; errors only, unless WIDGET_TODEVICE_E2E_DEBUG is set. */
const debug = process.env.WIDGET_TODEVICE_E2E_DEBUG === "1";
const quiet: Logger = {
  trace: () => undefined,
  debug: debug ? console.debug : () => undefined,
  info: debug ? console.info : () => undefined,
  warn: debug ? console.warn : () => undefined,
  error: debug ? console.error : () => undefined,
  getChild: () => quiet,
};

// The SDK's global logger (used by parts such as MatrixRTC that take no logger option).
if (!debug) (sdkLogger as { setLevel?: (level: string) => void }).setLevel?.("error");

export interface StartedClient {
  readonly client: MatrixClient;
  readonly userId: string;
  readonly deviceId: string;
  /** Everything this client received through `ClientEvent.ReceivedToDeviceMessage`. */
  readonly received: ReceivedToDeviceMessage[];
  stop(): void;
}

const running = new Set<StartedClient>();

/** Stops every client started so far (call from `afterAll`). */
export function stopAllClients(): void {
  for (const started of running) started.stop();
  running.clear();
}

export interface StartClientOptions {
  /** Talk to this URL instead of the homeserver (e.g. a fault proxy in front of it). */
  readonly baseUrl?: string;
  /** Default: the test run's homeserver. */
  readonly homeserver?: HomeserverClient;
}

/** A syncing matrix-js-sdk client with Rust crypto whose device keys are on the server. */
export async function startClient(
  session: UserSession,
  options: StartClientOptions = {},
): Promise<StartedClient> {
  const hs = options.homeserver ?? (await import("./homeserver.js")).homeserver();
  const client = createClient({
    baseUrl: options.baseUrl ?? hs.baseUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    logger: quiet,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const received: ReceivedToDeviceMessage[] = [];
  client.on(ClientEvent.ReceivedToDeviceMessage, (message) => received.push(message));
  const prepared = new Promise<void>((resolve, reject) => {
    const onSync = (state: SyncState) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        reject(new Error(`${session.userId} ${session.deviceId}: first sync failed`));
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 0, lazyLoadMembers: false });
  await prepared;
  await waitForDeviceKeys(hs, session, session.userId, session.deviceId);
  const started: StartedClient = {
    client,
    userId: session.userId,
    deviceId: session.deviceId,
    received,
    stop: () => client.stopClient(),
  };
  running.add(started);
  return started;
}

/** Waits until the server has `deviceId`'s keys (a device uploads them after its first sync). */
export async function waitForDeviceKeys(
  hs: HomeserverClient,
  asker: UserSession,
  userId: string,
  deviceId: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${hs.baseUrl}/_matrix/client/v3/keys/query`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${asker.accessToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ device_keys: { [userId]: [deviceId] } }),
    });
    const body = (await response.json()) as {
      device_keys?: Record<string, Record<string, unknown>>;
    };
    if (body.device_keys?.[userId]?.[deviceId] !== undefined) return;
    if (Date.now() > deadline) throw new Error(`no device keys for ${userId} ${deviceId}`);
    await sleep(25);
  }
}

/**
 * Waits until `observer`'s client knows `deviceId` of `userId` from its own store (no download
 * forced): for a user it tracks, after /sync reported the device-list change and the client
 * queried the new keys.
 */
export async function waitUntilClientKnows(
  observer: StartedClient,
  userId: string,
  deviceId: string,
  timeoutMs = 20_000,
): Promise<void> {
  const crypto = observer.client.getCrypto();
  if (crypto === undefined) throw new Error(`${observer.userId}: no crypto`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const devices = await crypto.getUserDeviceInfo([userId], false);
    if (devices.get(userId)?.has(deviceId) === true) return;
    if (Date.now() > deadline) {
      throw new Error(`${observer.userId}'s client never learnt ${userId} ${deviceId}`);
    }
    await sleep(25);
  }
}

/**
 * Sends `content` Olm-encrypted from `from`'s device to `devices`, straight through matrix-js-sdk
 * (no driver), and resolves once the homeserver accepted it. `from` must know the devices.
 */
export async function sendEncrypted(
  from: StartedClient,
  type: string,
  devices: ReadonlyArray<{ readonly userId: string; readonly deviceId: string }>,
  content: Record<string, unknown>,
): Promise<void> {
  const crypto = from.client.getCrypto();
  if (crypto === undefined) throw new Error(`${from.userId}: no crypto`);
  const { eventType, batch } = await crypto.encryptToDeviceMessages(type, [...devices], content);
  if (batch.length !== devices.length) {
    throw new Error(`${from.userId} encrypted for ${batch.length} of ${devices.length} devices`);
  }
  const messages = new Map<string, Map<string, Record<string, unknown>>>();
  for (const { userId, deviceId, payload } of batch) {
    const forUser = messages.get(userId) ?? new Map<string, Record<string, unknown>>();
    forUser.set(deviceId, payload);
    messages.set(userId, forUser);
  }
  await from.client.sendToDevice(eventType, messages, `raw-${Date.now()}-${Math.random()}`);
}

/** `{user: [device, ...]}` for a list of devices. */
export function recipientDevices(
  devices: ReadonlyArray<{ readonly userId: string; readonly deviceId: string }>,
): Record<string, string[]> {
  const recipients: Record<string, string[]> = {};
  for (const { userId, deviceId } of devices) {
    const list = recipients[userId] ?? [];
    list.push(deviceId);
    recipients[userId] = list;
  }
  return recipients;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns something other than `undefined`/`false`. */
export async function eventually<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A user with `devices` logged-in devices (the registration's device is the first). */
export async function userWithDevices(
  hs: HomeserverClient,
  devices: number,
  localpart?: string,
): Promise<UserSession[]> {
  const first = await hs.registerUser(localpart);
  const sessions = [first];
  for (let i = 1; i < devices; i++) sessions.push(await hs.login(first.userId, first.password));
  return sessions;
}

/**
 * An encrypted room created by `owner` with `members` joined, and every client having seen the
 * joins (so that the room's members are tracked, as in a real call).
 */
export async function encryptedRoom(
  owner: StartedClient,
  members: ReadonlyArray<StartedClient>,
  encrypted = true,
  /** How long every client may take to see every join (longer across federation). */
  timeoutMs = 15_000,
): Promise<string> {
  const { room_id: roomId } = await owner.client.createRoom({
    preset: "private_chat" as never,
    invite: [...new Set(members.map((m) => m.userId))].filter((u) => u !== owner.userId),
    initial_state: encrypted
      ? [
          {
            type: "m.room.encryption",
            state_key: "",
            content: { algorithm: "m.megolm.v1.aes-sha2" },
          },
        ]
      : [],
  });
  const joined = new Set<string>([owner.userId]);
  for (const member of members) {
    if (joined.has(member.userId)) continue;
    joined.add(member.userId);
    await member.client.joinRoom(roomId);
  }
  const everyone = [owner, ...members];
  await eventually(
    () =>
      everyone.every((c) => {
        const room = c.client.getRoom(roomId);
        return (
          room !== null &&
          room.hasEncryptionStateEvent() === encrypted &&
          [...joined].every((u) => room.getMember(u)?.membership === "join")
        );
      }),
    `every client to see room ${roomId} with everyone joined`,
    timeoutMs,
  );
  return roomId;
}

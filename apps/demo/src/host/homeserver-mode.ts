import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import {
  ClientEvent,
  createClient,
  type MatrixClient,
  MemoryCryptoStore,
  Preset,
  SyncState,
} from "matrix-js-sdk";
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import type { DemoRoom, DemoWorld, SimulatedClient } from "./world.js";

// Homeserver mode: each simulated client is a real matrix-js-sdk client in this page with Rust
// crypto, on real accounts registered on the given homeserver (open registration, m.login.dummy),
// sharing an encrypted room: to-device messages are real Olm messages through the homeserver.
// This module and matrix-js-sdk are loaded only in this mode.

interface Session {
  readonly userId: string;
  readonly deviceId: string;
  readonly accessToken: string;
}

/** matrix-js-sdk logs a great deal; warnings and errors only. */
const quiet: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => console.warn(...args),
  error: (...args: unknown[]) => console.error(...args),
  getChild: () => quiet,
};

function randomSuffix(length = 6): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

async function post(url: string, body: unknown, accessToken?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    cache: "no-store",
    headers: {
      "content-type": "application/json",
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
    },
    body: JSON.stringify(body),
  });
}

/** Open registration with the dummy stage, as Synapse's `enable_registration_without_verification` allows. */
async function register(
  baseUrl: string,
  username: string,
  password: string,
  deviceId: string,
): Promise<Session> {
  const url = `${baseUrl}/_matrix/client/v3/register`;
  const request = {
    username,
    password,
    device_id: deviceId,
    initial_device_display_name: deviceId,
  };
  let response = await post(url, request);
  if (response.status === 401) {
    const { session } = (await response.json()) as { session?: string };
    response = await post(url, { ...request, auth: { type: "m.login.dummy", session } });
  }
  const body = (await response.json()) as {
    user_id?: string;
    device_id?: string;
    access_token?: string;
    error?: string;
  };
  if (!response.ok || body.access_token === undefined || body.user_id === undefined) {
    throw new Error(
      `registering ${username} failed (${response.status} ${body.error ?? ""}); the homeserver needs open registration (enable_registration_without_verification)`,
    );
  }
  return {
    userId: body.user_id,
    deviceId: body.device_id ?? deviceId,
    accessToken: body.access_token,
  };
}

async function login(
  baseUrl: string,
  userId: string,
  password: string,
  deviceId: string,
): Promise<Session> {
  const response = await post(`${baseUrl}/_matrix/client/v3/login`, {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: userId },
    password,
    device_id: deviceId,
    initial_device_display_name: deviceId,
  });
  const body = (await response.json()) as {
    user_id: string;
    device_id: string;
    access_token: string;
    error?: string;
  };
  if (!response.ok)
    throw new Error(`logging ${userId} in failed: ${body.error ?? response.status}`);
  return { userId: body.user_id, deviceId: body.device_id, accessToken: body.access_token };
}

async function startClient(baseUrl: string, session: Session): Promise<MatrixClient> {
  const client = createClient({
    baseUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    logger: quiet,
    // matrix-js-sdk's browser build gives every client the same IndexedDB legacy crypto store
    // ("matrix-js-sdk:crypto"); three clients in one page would fight over it.
    cryptoStore: new MemoryCryptoStore(),
    // Several clients in one page: their /sync long-polls have identical URLs, and Chromium's
    // HTTP cache would hold one until the other ends.
    fetchFn: (input, init) => fetch(input, { ...init, cache: "no-store" }),
  });
  // In memory: every page load is a new device, so nothing is worth keeping.
  await client.initRustCrypto({
    useIndexedDB: false,
    cryptoDatabasePrefix: `widget-todevice-demo-${session.deviceId}`,
  });
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
  return client;
}

/** Waits until the homeserver has every device's keys (uploaded after each client's first sync). */
async function waitForDeviceKeys(
  baseUrl: string,
  asker: Session,
  devices: Record<string, string[]>,
) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await post(
      `${baseUrl}/_matrix/client/v3/keys/query`,
      { device_keys: devices },
      asker.accessToken,
    );
    const body = (await response.json()) as {
      device_keys?: Record<string, Record<string, unknown>>;
    };
    const missing = Object.entries(devices).flatMap(([user, ids]) =>
      ids.filter((id) => body.device_keys?.[user]?.[id] === undefined),
    );
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`no device keys for ${missing.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function createHomeserverWorld(
  homeserverUrl: string,
  progress: (line: string) => void,
): Promise<DemoWorld> {
  const baseUrl = homeserverUrl.replace(/\/+$/, "");
  const run = randomSuffix(4).toLowerCase();
  const password = `demo-${randomSuffix(16)}`;

  progress(`Registering alice-${run} and bob-${run} on ${baseUrl}…`);
  const aliceLaptop = await register(baseUrl, `alice-${run}`, password, `LAPTOP${randomSuffix(4)}`);
  const alicePhone = await login(baseUrl, aliceLaptop.userId, password, `PHONE${randomSuffix(4)}`);
  const bobDesktop = await register(baseUrl, `bob-${run}`, password, `DESKTOP${randomSuffix(4)}`);

  progress("Starting three matrix-js-sdk clients with Rust crypto…");
  const sessions = [aliceLaptop, alicePhone, bobDesktop];
  const [laptop, phone, desktop] = (await Promise.all(
    sessions.map((s) => startClient(baseUrl, s)),
  )) as [MatrixClient, MatrixClient, MatrixClient];

  progress("Creating an encrypted room for Alice and Bob, and a cleartext room for Bob…");
  const { room_id: lobbyId } = await laptop.createRoom({
    name: "Lobby",
    preset: Preset.PrivateChat,
    invite: [bobDesktop.userId],
    initial_state: [
      { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ],
  });
  await desktop.joinRoom(lobbyId);
  const { room_id: sideId } = await desktop.createRoom({
    name: "Side room",
    preset: Preset.PrivateChat,
  });
  // Encrypted to-device between users needs their device lists tracked: a shared encrypted room,
  // seen by every client with both users joined.
  await waitFor(
    () =>
      [laptop, phone, desktop].every((client) => {
        const room = client.getRoom(lobbyId);
        return (
          room?.hasEncryptionStateEvent() === true &&
          room.getMember(aliceLaptop.userId)?.membership === "join" &&
          room.getMember(bobDesktop.userId)?.membership === "join"
        );
      }),
    "every client to see the lobby with Alice and Bob joined",
  );
  await waitForDeviceKeys(baseUrl, aliceLaptop, {
    [aliceLaptop.userId]: [aliceLaptop.deviceId, alicePhone.deviceId],
    [bobDesktop.userId]: [bobDesktop.deviceId],
  });

  const lobby: DemoRoom = { roomId: lobbyId, name: "Lobby", encrypted: true };
  const side: DemoRoom = { roomId: sideId, name: "Side room", encrypted: false };
  const client = (
    label: string,
    session: Session,
    matrix: MatrixClient,
    rooms: DemoRoom[],
    widgets: SimulatedClient["defaultWidgets"],
  ): SimulatedClient => {
    const transport = new MatrixJsSdkTransport(matrix);
    return {
      label,
      userId: session.userId,
      deviceId: session.deviceId,
      displayName: label.split(" ")[0] ?? label,
      transport,
      rooms,
      defaultWidgets: widgets,
      stop: () => {
        // The driver does not own its transport: the transport's listeners on the client go
        // with the transport's own dispose.
        transport.dispose();
        matrix.stopClient();
      },
    };
  };
  progress("Ready.");
  return {
    mode: "homeserver",
    description: `Homeserver mode: three matrix-js-sdk clients with Rust crypto on ${baseUrl}; to-device messages are real Olm messages through the homeserver.`,
    clients: [
      client(
        "Alice · laptop",
        aliceLaptop,
        laptop,
        [lobby],
        [{ roomId: lobbyId, preapproved: true }],
      ),
      client("Alice · phone", alicePhone, phone, [lobby], [{ roomId: lobbyId, preapproved: true }]),
      client(
        "Bob · desktop",
        bobDesktop,
        desktop,
        [lobby, side],
        [
          { roomId: lobbyId, preapproved: true },
          { roomId: sideId, askReserved: true },
        ],
      ),
    ],
    directory: {
      [aliceLaptop.userId]: [aliceLaptop.deviceId, alicePhone.deviceId],
      [bobDesktop.userId]: [bobDesktop.deviceId],
    },
    baseUrl,
  };
}

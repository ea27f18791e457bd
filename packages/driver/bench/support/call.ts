// A call for the tables that need receivers: participants with a matrix-js-sdk client, the
// driver on it and a widget, all in one encrypted room (across servers when federated). Every
// participant records when each message reached its widget's handler (the driver path) and its
// client's `ReceivedToDeviceMessage` listener (the direct path).

import type { ToDeviceDriver } from "@widget-todevice/driver";
import type { HomeserverClient, UserSession } from "@widget-todevice/homeserver";
import { mapLimited } from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
} from "@widget-todevice/matrix-clients/matrix";
import { ClientEvent } from "matrix-js-sdk";
import type { WidgetFrame } from "../../test/harness/widget-frame.js";
import { driverFor, sleep, widgetOn } from "./world.js";

/** What the widgets send and receive: Element Call's key type. */
export const KEY_TYPE = "io.element.call.encryption_keys";
/** What the clients send each other directly, so that no widget receives it. */
export const DIRECT_TYPE = "org.example.bench.direct";

/** When each round's messages arrived, per message type. */
export class Arrivals {
  private readonly seen = new Map<string, number[]>();
  private readonly waiters = new Set<() => void>();

  record(type: string, round: unknown): void {
    if (typeof round !== "number") return;
    const key = `${type}#${round}`;
    const times = this.seen.get(key) ?? [];
    times.push(performance.now());
    this.seen.set(key, times);
    for (const wake of this.waiters) wake();
  }

  times(type: string, round: number): ReadonlyArray<number> {
    return this.seen.get(`${type}#${round}`) ?? [];
  }

  /** Resolves once `count` messages of the round arrived. */
  until(type: string, round: number, count: number, timeoutMs = 120_000): Promise<void> {
    if (this.times(type, round).length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${this.times(type, round).length} of ${count} ${type} messages of round ${round} arrived`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (this.times(type, round).length < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }
}

export interface Participant {
  readonly client: StartedClient;
  readonly driver: ToDeviceDriver;
  readonly frame: WidgetFrame;
  readonly arrivals: Arrivals;
}

export interface Seat {
  readonly hs: HomeserverClient;
  readonly session: UserSession;
  /** Where the client talks to its server, if not directly (a counting proxy). */
  readonly baseUrl?: string;
}

/** `count` users, one device each, alternating between `servers`. */
export async function oneDeviceEach(
  servers: ReadonlyArray<HomeserverClient>,
  count: number,
): Promise<Seat[]> {
  return mapLimited(Array.from({ length: count }), 8, async (_, i) => {
    const hs = servers[i % servers.length] as HomeserverClient;
    return { hs, session: await hs.registerUser() };
  });
}

/** `devices` devices held by at most `maxUsers` users on `hs`. */
export async function devicesOf(
  hs: HomeserverClient,
  devices: number,
  maxUsers: number,
): Promise<Seat[]> {
  const users = await mapLimited(Array.from({ length: Math.min(devices, maxUsers) }), 8, () =>
    hs.registerUser(),
  );
  return mapLimited(Array.from({ length: devices }), 8, async (_, i) => {
    const owner = users[i % users.length] as UserSession;
    // The registration's device is the user's first.
    const session = i < users.length ? owner : await hs.login(owner.userId, owner.password);
    return { hs, session };
  });
}

/** Starts every seat's client, driver and widget in one encrypted room. */
export async function startCall(seats: ReadonlyArray<Seat>): Promise<Participant[]> {
  const clients = await mapLimited(seats, 6, ({ hs, session, baseUrl }) =>
    startClient(session, { homeserver: hs, ...(baseUrl === undefined ? {} : { baseUrl }) }),
  );
  const [owner, ...others] = clients as [StartedClient, ...StartedClient[]];
  const federated = new Set(seats.map((s) => s.hs.baseUrl)).size > 1;
  const roomId = federated
    ? await spanningRoom(owner, others)
    : await encryptedRoom(owner, others, true, 60_000);
  // Both paths start from device lists the clients have fetched.
  const users = [...new Set(clients.map((c) => c.userId))];
  await mapLimited(clients, 6, async (c) => {
    await c.client.getCrypto()?.getUserDeviceInfo(users, true);
  });
  return mapLimited(clients, 6, async (client) => {
    const driver = driverFor(client);
    const frame = await widgetOn(driver, roomId, [
      `org.matrix.msc3819.send.to_device:${KEY_TYPE}`,
      `org.matrix.msc3819.receive.to_device:${KEY_TYPE}`,
    ]);
    const arrivals = new Arrivals();
    // Beside the frame's own handler (which replies): the moment the widget's handler runs.
    frame.widgetApi.on("action:send_to_device", (event: CustomEvent<{ data: unknown }>) => {
      const data = event.detail.data as { type?: string; content?: { round?: unknown } };
      arrivals.record(String(data.type), data.content?.round);
    });
    client.client.on(ClientEvent.ReceivedToDeviceMessage, ({ message }) => {
      if (message.type === DIRECT_TYPE)
        arrivals.record(DIRECT_TYPE, (message.content as { round?: unknown }).round);
    });
    return { client, driver, frame, arrivals };
  });
}

export function endCall(participants: ReadonlyArray<Participant>): void {
  for (const { client, driver, frame } of participants) {
    driver.dispose();
    frame.stop();
    client.stop();
  }
}

/**
 * An encrypted room across servers: members join one at a time, each once the owner's client saw
 * the previous join (joined back to back, a join from the other server was seen late or not at
 * all by some clients), then every client must see every member.
 */
async function spanningRoom(owner: StartedClient, members: StartedClient[]): Promise<string> {
  const roomId = await encryptedRoom(owner, [], true);
  const joined = new Set([owner.userId]);
  for (const member of members) {
    if (joined.has(member.userId)) {
      await member.client.joinRoom(roomId);
      continue;
    }
    joined.add(member.userId);
    await owner.client.invite(roomId, member.userId);
    await member.client.joinRoom(roomId);
    const deadline = Date.now() + 60_000;
    while (owner.client.getRoom(roomId)?.getMember(member.userId)?.membership !== "join") {
      if (Date.now() > deadline) throw new Error(`${member.userId}'s join not seen`);
      await sleep(20);
    }
  }
  const everyone = [owner, ...members];
  await eventually(
    () =>
      everyone.every((c) =>
        [...joined].every((u) => c.client.getRoom(roomId)?.getMember(u)?.membership === "join"),
      ),
    "every client to see every member",
    60_000,
  );
  return roomId;
}

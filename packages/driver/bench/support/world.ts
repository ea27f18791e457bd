// The real Matrix parts the tables share, started when a table first asks for them and stopped
// once at the end: one Synapse (behind a counting proxy), a fleet of light recipient devices, a
// sending client with the driver and a widget, and a pair of federating Synapse servers.

import "@widget-todevice/matrix-clients/node-window";
import { EventEmitter } from "node:events";
import { ToDeviceDriver } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import {
  type Federation,
  type Homeserver,
  type HomeserverClient,
  homeserverClient,
  startFederation,
  startHomeserver,
} from "@widget-todevice/homeserver";
import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { type LightDevice, lightFleet } from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  type StartedClient,
  startClient,
} from "@widget-todevice/matrix-clients/matrix";
import { WidgetFrame } from "../../test/harness/widget-frame.js";
import { config } from "./config.js";

// matrix-widget-api logs every postMessage.
console.log = () => undefined;
// matrix-js-sdk's MatrixRTC logs every room it sees through a logger no option reaches.
const debugLog = console.debug;
console.debug = (...args: unknown[]) => {
  if (!String(args[0]).startsWith("[MatrixRTCSession")) debugLog(...args);
};

// matrix-js-sdk ties each client's requests to one AbortSignal; a client of a 50-participant call
// has more than Node's default of 10 in flight, which is expected here, not a leak.
EventEmitter.defaultMaxListeners = 100;

export const quietLogger = { warn: () => undefined, error: (m: string) => console.error(m) };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A widget attached to `driver` in an encrypted room, negotiated, with `capabilities`. */
export async function widgetOn(
  driver: ToDeviceDriver,
  roomId: string,
  capabilities: ReadonlyArray<string>,
): Promise<WidgetFrame> {
  const frame = new WidgetFrame({
    widgetId: `bench-${Math.random().toString(36).slice(2)}`,
    capabilities,
    advertisesFormats: ["org.matrix.msc3819.recipient_devices"],
  });
  // matrix-widget-api gives up on a request after 10 s; a warm-up send of a large call (key
  // claims for every device, on a busy machine) can take longer, and the benchmark waits.
  frame.widgetApi.transport.timeoutSeconds = 300;
  frame.clientApi.transport.timeoutSeconds = 300;
  const attachment = driver.attach(frame.clientApi, { roomId, roomEncrypted: true });
  await frame.load();
  await attachment.negotiated;
  return frame;
}

export function driverFor(client: StartedClient): ToDeviceDriver {
  const transport = new MatrixJsSdkTransport(client.client, { logger: quietLogger });
  return new ToDeviceDriver({ transport, logger: quietLogger });
}

/** The sender of the fan-out tables: Alice, her driver, her widget, and the light fleet. */
export interface Sender {
  readonly alice: StartedClient;
  readonly driver: ToDeviceDriver;
  readonly frame: WidgetFrame;
  readonly roomId: string;
  readonly fleet: ReadonlyArray<LightDevice>;
}

export const PING = "org.example.ping";

export class BenchWorld {
  private homeserver: Promise<Homeserver> | undefined;
  private counting: Promise<FaultProxy> | undefined;
  private sending: Promise<Sender> | undefined;
  private federating: Promise<Federation> | undefined;
  private readonly cleanups: Array<() => void | Promise<void>> = [];

  /** The single Synapse. */
  async server(): Promise<HomeserverClient> {
    this.homeserver ??= startHomeserver({ log: () => undefined }).then((server) => {
      this.cleanups.push(() => server.stop());
      return server;
    });
    return homeserverClient((await this.homeserver).info());
  }

  /** A proxy in front of the single Synapse that counts `/sendToDevice` requests and bytes. */
  async proxy(): Promise<FaultProxy> {
    this.counting ??= this.server().then(async (hs) => {
      const proxy = await FaultProxy.start(hs.baseUrl);
      this.cleanups.push(() => proxy.stop());
      return proxy;
    });
    return this.counting;
  }

  /** Two Synapse servers federating over loopback. */
  async federation(): Promise<HomeserverClient[]> {
    this.federating ??= startFederation({ servers: 2, log: () => undefined }).then((f) => {
      this.cleanups.push(() => f.stop());
      return f;
    });
    return (await this.federating).servers.map((s) => homeserverClient(s.info()));
  }

  /** Alice (through the counting proxy) in an encrypted room with the fleet's users. */
  async sender(): Promise<Sender> {
    this.sending ??= this.startSender();
    return this.sending;
  }

  private async startSender(): Promise<Sender> {
    const hs = await this.server();
    const proxy = await this.proxy();
    const alice = await startClient(await hs.registerUser(), {
      homeserver: hs,
      baseUrl: proxy.url,
    });
    const { users, devicesPerUser } = config.fleet;
    const fleet = await lightFleet(hs, users, devicesPerUser);
    // The recipients share an encrypted room with Alice, as call participants do, so their
    // device lists are tracked through /sync.
    const roomId = await sharedRoom(alice, hs.baseUrl, fleet);
    const driver = driverFor(alice);
    const frame = await widgetOn(driver, roomId, [`org.matrix.msc3819.send.to_device:${PING}`]);
    this.cleanups.push(() => {
      driver.dispose();
      frame.stop();
      alice.stop();
    });
    return { alice, driver, frame, roomId, fleet };
  }

  /** Runs `stop` at the end (clients, drivers and frames a table started). */
  onStop(stop: () => void | Promise<void>): void {
    this.cleanups.push(stop);
  }

  async stop(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error("stopping:", error);
      }
    }
  }
}

/** Alice's encrypted room with the fleet's users joined (over the plain HTTP API). */
async function sharedRoom(
  alice: StartedClient,
  baseUrl: string,
  fleet: ReadonlyArray<LightDevice>,
): Promise<string> {
  const users = [...new Set(fleet.map((d) => d.userId))];
  const roomId = await encryptedRoom(alice, [], true);
  for (const userId of users) {
    await alice.client.invite(roomId, userId);
    const member = fleet.find((d) => d.userId === userId) as LightDevice;
    const response = await fetch(
      `${baseUrl}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${member.session.accessToken}`,
          "content-type": "application/json",
        },
        body: "{}",
      },
    );
    if (!response.ok) throw new Error(`join: ${response.status}`);
  }
  const deadline = Date.now() + 30_000;
  while (!users.every((u) => alice.client.getRoom(roomId)?.getMember(u)?.membership === "join")) {
    if (Date.now() > deadline) throw new Error("joins not seen");
    await sleep(20);
  }
  return roomId;
}

/**
 * A small Matrix world for tests: an in-memory homeserver, Alice's device running the driver,
 * Bob's and Carol's devices, and widgets attached to Alice's driver.
 */
import { afterEach } from "vitest";
import {
  type DriverLogger,
  ToDeviceDriver,
  type ToDeviceDriverOptions,
  type WidgetAttachment,
  type WidgetBinding,
} from "../../src/index.js";
import { InMemoryHomeserver, type InMemoryTransport } from "../../src/testing.js";
import { WidgetFrame, type WidgetFrameOptions } from "./widget-frame.js";

export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";
export const CAROL = "@carol:example.org";
export const ROOM = "!r1:example.org";
export const OTHER_ROOM = "!r2:example.org";
export const PING = "org.example.ping";

export const send = (type: string) => `org.matrix.msc3819.send.to_device:${type}`;
export const receive = (type: string) => `org.matrix.msc3819.receive.to_device:${type}`;

/** Collects what the driver logs, so that tests can assert on drops. */
export class RecordingLogger implements DriverLogger {
  readonly lines: string[] = [];
  warn(message: string): void {
    this.lines.push(message);
  }
  error(message: string): void {
    this.lines.push(message);
  }
}

/** One client running the driver, with widgets attached to it. */
export interface Host {
  readonly transport: InMemoryTransport;
  readonly driver: ToDeviceDriver;
  /** A widget on this client, attached, loaded and negotiated. */
  widget(binding?: Partial<WidgetBinding>, options?: WidgetFrameOptions): Promise<AttachedWidget>;
  /** Attached but not loaded: the caller calls `frame.load()`. */
  unloadedWidget(binding?: Partial<WidgetBinding>, options?: WidgetFrameOptions): AttachedWidget;
}

export interface AttachedWidget {
  readonly frame: WidgetFrame;
  readonly attachment: WidgetAttachment;
}

export interface World extends Host {
  readonly homeserver: InMemoryHomeserver;
  readonly alice: InMemoryTransport;
  readonly bob: InMemoryTransport;
  readonly logger: RecordingLogger;
  /** Runs a driver on another device (Bob's by default): the receiving side of a test. */
  host(transport?: InMemoryTransport, options?: Partial<ToDeviceDriverOptions>): Host;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let widgetCounter = 0;

function makeHost(transport: InMemoryTransport, options: ToDeviceDriverOptions): Host {
  const driver = new ToDeviceDriver(options);
  cleanups.push(() => driver.dispose());
  const unloadedWidget = (
    binding: Partial<WidgetBinding> = {},
    frameOptions: WidgetFrameOptions = {},
  ) => {
    widgetCounter++;
    const frame = new WidgetFrame({ widgetId: `w${widgetCounter}`, ...frameOptions });
    const attachment = driver.attach(frame.clientApi, {
      roomId: ROOM,
      roomEncrypted: true,
      ...binding,
    });
    cleanups.push(() => frame.stop());
    return { frame, attachment };
  };
  return {
    transport,
    driver,
    unloadedWidget,
    async widget(binding, frameOptions) {
      const made = unloadedWidget(binding, frameOptions);
      await made.frame.load();
      await made.attachment.negotiated;
      return made;
    },
  };
}

export function createWorld(options: Partial<ToDeviceDriverOptions> = {}): World {
  const homeserver = new InMemoryHomeserver();
  const alice = homeserver.addDevice(ALICE, "ALICEDEV", { verified: true });
  const bob = homeserver.addDevice(BOB, "BOBDEV", { verified: true });
  const logger = new RecordingLogger();
  const defaults = { logger, retry: { initialBackoffMs: 5, maxBackoffMs: 20 } };
  const aliceHost = makeHost(alice, { transport: alice, ...defaults, ...options });
  return {
    ...aliceHost,
    homeserver,
    alice,
    bob,
    logger,
    host: (transport = bob, hostOptions = {}) =>
      makeHost(transport, { transport, ...defaults, ...hostOptions }),
  };
}

/** Lets queued postMessages and deliveries run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** The content every barrier carries. */
export const BARRIER = { barrier: true } as const;

/** Resolves when `transport` receives a message whose content is `BARRIER`. */
export function barrierArrival(transport: InMemoryTransport): Promise<void> {
  return new Promise((resolve) => {
    const off = transport.onToDeviceMessage(({ message }) => {
      if (JSON.stringify(message.content) !== JSON.stringify(BARRIER)) return;
      off();
      resolve();
    });
  });
}

/**
 * Proves absence without sleeping: sends `BARRIER` to Bob's BOBDEV through the same widget and
 * waits for it to arrive. A widget's sends to one user leave in order (section 6) and the
 * homeserver delivers to a device in acceptance order, so anything an earlier send was still
 * going to deliver to Bob arrives before the barrier.
 */
export async function sendBarrier(world: World, frame: WidgetFrame): Promise<void> {
  const arrived = barrierArrival(world.bob);
  const reply = await frame.send({
    type: PING,
    encrypted: true,
    messages: { [BOB]: { BOBDEV: BARRIER } },
  });
  if (!reply.ok) throw new Error(`the barrier was refused: ${reply.message}`);
  await arrived;
}

/** The contents a device received, in order. */
export const contentsReceived = (transport: InMemoryTransport): unknown[] =>
  transport.received.map((r) => r.message.content);

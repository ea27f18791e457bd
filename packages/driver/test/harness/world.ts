/**
 * A small Matrix world for tests: an in-memory homeserver, Alice's device running the driver,
 * Bob's and Carol's devices, and widgets attached to Alice's driver.
 */
import { afterEach } from "vitest";
import {
  type DriverLogger,
  InMemoryHomeserver,
  type InMemoryTransport,
  ToDeviceDriver,
  type ToDeviceDriverOptions,
  type WidgetAttachment,
  type WidgetBinding,
} from "../../src/index.js";
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

export interface World {
  readonly homeserver: InMemoryHomeserver;
  readonly alice: InMemoryTransport;
  readonly bob: InMemoryTransport;
  readonly logger: RecordingLogger;
  readonly driver: ToDeviceDriver;
  /** A widget on Alice's client, attached and negotiated. */
  widget(
    binding: Partial<WidgetBinding>,
    options?: WidgetFrameOptions,
  ): Promise<{ frame: WidgetFrame; attachment: WidgetAttachment }>;
  /** Like `widget`, but not loaded yet: the caller calls `frame.load()`. */
  unloadedWidget(binding: Partial<WidgetBinding>, options?: WidgetFrameOptions): { frame: WidgetFrame; attachment: WidgetAttachment };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let widgetCounter = 0;

export function createWorld(options: Partial<ToDeviceDriverOptions> = {}): World {
  const homeserver = new InMemoryHomeserver();
  const alice = homeserver.addDevice(ALICE, "ALICEDEV");
  const bob = homeserver.addDevice(BOB, "BOBDEV", { verified: true });
  const logger = new RecordingLogger();
  const driver = new ToDeviceDriver({
    transport: alice,
    logger,
    retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
    ...options,
  });
  cleanups.push(() => driver.dispose());

  const unloadedWidget = (binding: Partial<WidgetBinding>, frameOptions: WidgetFrameOptions = {}) => {
    widgetCounter++;
    const frame = new WidgetFrame({ widgetId: `w${widgetCounter}`, ...frameOptions });
    const attachment = driver.attach(frame.clientApi, { roomId: ROOM, roomEncrypted: true, ...binding });
    cleanups.push(() => frame.stop());
    return { frame, attachment };
  };
  return {
    homeserver,
    alice,
    bob,
    logger,
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

/** Lets queued postMessages and deliveries run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

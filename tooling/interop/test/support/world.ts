/**
 * An in-memory call: an `InMemoryHomeserver`, one `ToDeviceDriver` per device, and in each
 * device's host a frame whose widget runs Element Call's embedded client or a stock widget.
 */
import {
  ToDeviceDriver,
  type ToDeviceDriverOptions,
  type WidgetAttachment,
  type WidgetBinding,
} from "@widget-todevice/driver";
import { InMemoryHomeserver, type InMemoryTransport } from "@widget-todevice/driver/testing";
import type { WidgetDriver } from "matrix-widget-api";
import { afterEach } from "vitest";
import { type CallParticipant, joinCall, TO_DEVICE_ONLY } from "./element-call.js";
import { type Frame, openFrame } from "./frame.js";
import { ToDeviceOnlyHost } from "./hosts.js";

export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";
export const CAROL = "@carol:example.org";
export const ROOM = "!call:example.org";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

let frames = 0;

/** One device running the driver. */
export interface DeviceHost {
  readonly userId: string;
  readonly deviceId: string;
  readonly transport: InMemoryTransport;
  readonly driver: ToDeviceDriver;
  /** A frame in this host with the driver attached; the widget is not started yet. */
  open(
    widgetDriver: WidgetDriver,
    binding?: Partial<WidgetBinding>,
  ): { frame: Frame; attachment: WidgetAttachment };
}

export interface Participant extends CallParticipant {
  readonly host: DeviceHost;
  readonly frame: Frame;
  readonly attachment: WidgetAttachment;
}

export interface JoinOptions {
  readonly capabilities?: Parameters<typeof joinCall>[1]["capabilities"];
  readonly widgetDriver?: WidgetDriver;
  readonly binding?: Partial<WidgetBinding>;
}

export interface World {
  readonly homeserver: InMemoryHomeserver;
  /** A device of `userId` running a driver (options as given, fast retries by default). */
  device(userId: string, deviceId: string, options?: Partial<ToDeviceDriverOptions>): DeviceHost;
  /** Element Call's embedded client in a widget of `host`, started and negotiated. */
  join(host: DeviceHost, options?: JoinOptions): Promise<Participant>;
  /** The same, without waiting for start-up. */
  joining(host: DeviceHost, options?: JoinOptions): Participant;
}

export function createWorld(): World {
  const homeserver = new InMemoryHomeserver();
  const device: World["device"] = (userId, deviceId, options = {}) => {
    const transport = homeserver.addDevice(userId, deviceId, { verified: true });
    const driver = new ToDeviceDriver({
      transport,
      retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
      logger: { warn: () => undefined, error: () => undefined },
      ...options,
    });
    cleanups.push(() => driver.dispose());
    return {
      userId,
      deviceId,
      transport,
      driver,
      open(widgetDriver, binding = {}) {
        frames++;
        const frame = openFrame({
          widgetId: `call${frames}`,
          driver: widgetDriver,
          creatorUserId: userId,
        });
        const attachment = driver.attach(frame.clientApi, {
          roomId: ROOM,
          roomEncrypted: true,
          ...binding,
        });
        cleanups.push(() => frame.stop());
        return { frame, attachment };
      },
    };
  };
  const joining: World["joining"] = (host, options = {}) => {
    const { frame, attachment } = host.open(
      options.widgetDriver ?? new ToDeviceOnlyHost(),
      options.binding,
    );
    const participant = joinCall(frame, {
      userId: host.userId,
      deviceId: host.deviceId,
      roomId: options.binding?.roomId ?? ROOM,
      capabilities: options.capabilities ?? TO_DEVICE_ONLY,
    });
    cleanups.push(() => participant.stop());
    return { ...participant, host, frame, attachment };
  };
  return {
    homeserver,
    device,
    joining,
    async join(host, options) {
      const participant = joining(host, options);
      await participant.started;
      await participant.attachment.negotiated;
      return participant;
    },
  };
}

/** Polls (on real or fake timers' microtasks) until `check` holds. */
export async function eventually(check: () => boolean, what: string, rounds = 2_000) {
  for (let i = 0; i < rounds; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

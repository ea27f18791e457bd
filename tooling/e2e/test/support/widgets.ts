/**
 * Hosts for the end-to-end tests: a `ToDeviceDriver` on a real matrix-js-sdk client through the
 * production transport, with real matrix-widget-api widgets attached (./widget-frame.ts).
 */

import {
  ToDeviceDriver,
  type ToDeviceDriverOptions,
  type WidgetAttachment,
  type WidgetBinding,
} from "@widget-todevice/driver";
import {
  MatrixJsSdkTransport,
  type MatrixJsSdkTransportOptions,
} from "@widget-todevice/driver/matrix-js-sdk";
import type { StartedClient } from "@widget-todevice/matrix-clients/matrix";
import { afterAll, afterEach } from "vitest";
import { RecordingLogger } from "./recording-logger.js";
import { WidgetFrame, type WidgetFrameOptions } from "./widget-frame.js";

export const PING = "org.example.ping";
export const send = (type: string) => `org.matrix.msc3819.send.to_device:${type}`;
export const receive = (type: string) => `org.matrix.msc3819.receive.to_device:${type}`;

export interface E2eHost {
  readonly started: StartedClient;
  readonly transport: MatrixJsSdkTransport;
  readonly driver: ToDeviceDriver;
  readonly logger: RecordingLogger;
  /** A widget on this client: attached, loaded and negotiated. */
  widget(
    binding: Partial<WidgetBinding> & { roomId: string | null },
    options?: WidgetFrameOptions,
  ): Promise<{ frame: WidgetFrame; attachment: WidgetAttachment }>;
}

// Widgets stop after each test; drivers (often made in `beforeAll`) after the file.
const frames: Array<() => void> = [];
const drivers: Array<() => void> = [];
afterEach(() => {
  for (const stop of frames.splice(0)) stop();
});
afterAll(() => {
  for (const dispose of drivers.splice(0)) dispose();
});

let widgets = 0;

export function hostOn(
  started: StartedClient,
  options: {
    transport?: MatrixJsSdkTransportOptions;
    driver?: Partial<ToDeviceDriverOptions>;
  } = {},
): E2eHost {
  const logger = new RecordingLogger();
  const transport = new MatrixJsSdkTransport(started.client, { logger, ...options.transport });
  const driver = new ToDeviceDriver({
    transport,
    logger,
    retry: { initialBackoffMs: 50, maxBackoffMs: 400 },
    ...options.driver,
  });
  drivers.push(() => {
    driver.dispose();
    transport.dispose();
  });
  return {
    started,
    transport,
    driver,
    logger,
    async widget(binding, frameOptions = {}) {
      widgets++;
      const frame = new WidgetFrame({ widgetId: `e2e${widgets}`, ...frameOptions });
      const room = binding.roomId === null ? null : started.client.getRoom(binding.roomId);
      const attachment = driver.attach(frame.clientApi, {
        roomEncrypted: () => room?.hasEncryptionStateEvent() ?? false,
        ...binding,
      });
      frames.push(() => frame.stop());
      await frame.load();
      await attachment.negotiated;
      return { frame, attachment };
    },
  };
}

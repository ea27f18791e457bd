/**
 * Section 6: what one request may cost the host. A content is sized once, not once per device;
 * what cannot fit is refused before it is expanded to devices or encrypted; the bytes one send
 * may upload are bounded; explicit device IDs are checked with one set per user; and long loops
 * over devices give the host's event loop a turn. Work is counted (reads, calls, macrotask
 * turns), never timed: speed belongs to the benchmarks.
 */
import type { JsonObject, NormalSendRequest } from "@widget-todevice/codec";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHUNK_LIMITS } from "../src/chunking.js";
import type {
  DeviceAddress,
  DeviceMessage,
  EncryptedBatch,
  ToDeviceTransport,
} from "../src/index.js";
import { RecipientOrder } from "../src/ordering.js";
import { DEFAULT_RETRY_OPTIONS } from "../src/retry.js";
import { type SendContext, type SenderConfig, ToDeviceSender } from "../src/to-device-sender.js";
import { BOB, PING } from "./harness/world.js";

/** A transport that records what it is asked and answers at once. */
class RecordingTransport implements ToDeviceTransport {
  readonly sent: Array<{ eventType: string; messages: ReadonlyArray<DeviceMessage> }> = [];
  encryptCalls = 0;
  constructor(private readonly lists: ReadonlyMap<string, ReadonlyArray<string>> = new Map()) {}

  async getUserDevices(userIds: ReadonlyArray<string>) {
    await Promise.resolve();
    return new Map([...this.lists].filter(([userId]) => userIds.includes(userId)));
  }

  async encryptToDeviceMessages(
    _eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<EncryptedBatch> {
    this.encryptCalls++;
    await Promise.resolve();
    const ciphertext = `${JSON.stringify(content)}`.replace(/./g, "A");
    return {
      eventType: "m.room.encrypted",
      messages: devices.map((d) => ({ ...d, content: { algorithm: "x", ciphertext } })),
      failures: [],
    };
  }

  async sendToDevice(eventType: string, messages: ReadonlyArray<DeviceMessage>): Promise<void> {
    this.sent.push({ eventType, messages });
    await Promise.resolve();
  }

  onToDeviceMessage(): () => void {
    return () => undefined;
  }
}

function sender(transport: ToDeviceTransport, config: Partial<SenderConfig> = {}) {
  return new ToDeviceSender({
    transport,
    encryptionPolicy: "strict",
    allowGlobalCleartext: true,
    chunkLimits: DEFAULT_CHUNK_LIMITS,
    retry: DEFAULT_RETRY_OPTIONS,
    maxMessageBytes: 65_536,
    deviceListTimeoutMs: 1_000,
    maxConcurrentRequests: 4,
    logger: { warn: () => undefined, error: () => undefined },
    ...config,
  });
}

// A global widget whose host allows cleartext: the flag alone decides (section 5).
const globalWidget = (): SendContext => ({
  roomId: null,
  roomEncrypted: () => false,
  widgetType: "org.example.app",
  order: new RecipientOrder(),
});

const deviceIds = (n: number) => Array.from({ length: n }, (_, i) => `D${i}`);

function request(
  content: JsonObject,
  recipients: Record<string, string[]>,
  encrypted?: boolean,
): NormalSendRequest {
  return {
    format: "recipients",
    type: PING,
    ...(encrypted === undefined ? {} : { encrypted }),
    groups: [{ content, recipients }],
  } as NormalSendRequest;
}

describe("explicit device IDs are checked against one set per user", () => {
  it("reads a 2,000-device list a bounded number of times for 2,000 explicit IDs", async () => {
    let reads = 0;
    const list = new Proxy(deviceIds(2_000), {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const transport = new RecordingTransport(new Map([[BOB, list]]));
    const result = await sender(transport).send(
      request({}, { [BOB]: [...deviceIds(1_999), "GONE"] }, false),
      globalWidget(),
    );
    expect(result).toEqual({ kind: "delivered", failures: { [BOB]: { GONE: "unknown_device" } } });
    expect(reads).toBeLessThanOrEqual(2 * 2_000);
  });
});

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
import {
  DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
  type DeviceAddress,
  type DeviceMessage,
  type EncryptedBatch,
  type ToDeviceTransport,
} from "../src/index.js";
import { RecipientOrder } from "../src/ordering.js";
import { DEFAULT_RETRY_OPTIONS } from "../src/retry.js";
import { type SendContext, type SenderConfig, ToDeviceSender } from "../src/to-device-sender.js";
import { BOB, createWorld, PING, send, sendBarrier } from "./harness/world.js";

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
    maxUploadBytesPerSend: DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
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
  answerDeadlineMs: 55_000,
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

/** A content that counts how often it is serialised (each `JSON.stringify` reads `data`). */
function countingContent(bytes: number): { content: JsonObject; reads: () => number } {
  let reads = 0;
  const data = "x".repeat(bytes);
  const content = {};
  Object.defineProperty(content, "data", {
    enumerable: true,
    get: () => {
      reads++;
      return data;
    },
  });
  return { content: content as JsonObject, reads: () => reads };
}

describe("a content is sized once, whatever the device count", () => {
  it("answers too_large for 880 KB to 200 devices after one serialisation, sending nothing", async () => {
    const transport = new RecordingTransport();
    const { content, reads } = countingContent(880_000);
    const result = await sender(transport).send(
      request(content, { [BOB]: deviceIds(200) }, false),
      globalWidget(),
    );
    expect(result.kind).toBe("failed");
    if (result.kind !== "failed") return;
    expect(Object.keys(result.failures[BOB] ?? {})).toHaveLength(200);
    expect(new Set(Object.values(result.failures[BOB] ?? {}))).toEqual(new Set(["too_large"]));
    expect(transport.sent).toEqual([]);
    expect(reads()).toBe(1);
  });

  it("serialises a cleartext content once for 200 devices that it sends", async () => {
    const transport = new RecordingTransport();
    const { content, reads } = countingContent(1_000);
    const result = await sender(transport).send(
      request(content, { [BOB]: deviceIds(200) }, false),
      globalWidget(),
    );
    expect(result).toEqual({ kind: "delivered" });
    expect(transport.sent.flatMap((r) => r.messages)).toHaveLength(200);
    expect(reads()).toBe(1);
  });

  it("refuses an encrypted content whose plaintext exceeds the cap before encrypting it", async () => {
    const transport = new RecordingTransport(new Map([[BOB, ["B1", "B2"]]]));
    const result = await sender(transport).send(
      request({ data: "x".repeat(70_000) }, { [BOB]: ["*"] }, true),
      globalWidget(),
    );
    expect(transport.encryptCalls).toBe(0);
    expect(transport.sent).toEqual([]);
    expect(result).toMatchObject({ kind: "failed", failures: { [BOB]: { "*": "too_large" } } });
  });
});

describe("the upload budget of one send (maxUploadBytesPerSend)", () => {
  it("refuses a send whose content times its devices exceeds the budget, before any request", async () => {
    const transport = new RecordingTransport();
    const result = await sender(transport, { maxUploadBytesPerSend: 100_000 }).send(
      request({ data: "x".repeat(10_000) }, { [BOB]: deviceIds(20) }, false),
      globalWidget(),
    );
    expect(result.kind).toBe("refused");
    if (result.kind === "refused") expect(result.message).toMatch(/maxUploadBytesPerSend/);
    expect(transport.sent).toEqual([]);
  });

  it("counts the devices an encrypted * expands to, and sends what fits", async () => {
    const transport = new RecordingTransport(new Map([[BOB, deviceIds(20)]]));
    const config = { maxUploadBytesPerSend: 100_000 };
    const refused = await sender(transport, config).send(
      request({ data: "x".repeat(10_000) }, { [BOB]: ["*"] }, true),
      globalWidget(),
    );
    expect(refused.kind).toBe("refused");
    expect(transport.encryptCalls).toBe(0);

    const fits = await sender(transport, config).send(
      request({ data: "x".repeat(1_000) }, { [BOB]: ["*"] }, true),
      globalWidget(),
    );
    expect(fits).toEqual({ kind: "delivered" });
    expect(transport.sent.flatMap((r) => r.messages)).toHaveLength(20);
  });

  it("by default refuses 60 KB to 10,000 devices with an error that says why", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomEncrypted: false },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({
      type: PING,
      encrypted: false,
      recipient_devices: { [BOB]: deviceIds(10_000) },
      content: { data: "x".repeat(60_000) },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toMatch(/upload.*MiB.*maxUploadBytesPerSend/);
    await sendBarrier(world, frame);
    expect(world.homeserver.sendLog).toHaveLength(1);
  });
});

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

describe("a large send gives the host's event loop a turn", () => {
  it("lets other macrotasks run while it works through 10,000 devices", async () => {
    const transport = new RecordingTransport();
    let settled = false;
    const result = sender(transport)
      .send(request({ n: 1 }, { [BOB]: deviceIds(10_000) }, false), globalWidget())
      .finally(() => {
        settled = true;
      });
    // Another macrotask of the host, re-armed each time it runs, counting its turns.
    let turns = 0;
    const tick = (): void => {
      if (settled) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    expect(await result).toEqual({ kind: "delivered" });
    expect(transport.sent.flatMap((r) => r.messages)).toHaveLength(10_000);
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});

describe("a small send takes no turn it does not need", () => {
  it("goes on in the same task after a slow device list lookup, for 100 devices", async () => {
    // The lookup answers from a timer, well after the send's first slice began.
    class SlowLookup extends RecordingTransport {
      onAnswer: () => void = () => undefined;
      override async getUserDevices(userIds: ReadonlyArray<string>) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        this.onAnswer();
        return new Map(userIds.map((userId) => [userId, deviceIds(100)]));
      }
    }
    const transport = new SlowLookup();
    let settled = false;
    // Another macrotask of the host, armed when the lookup answers: it runs only if the send
    // gives way before it is done.
    let turns = 0;
    transport.onAnswer = () =>
      setImmediate(() => {
        if (!settled) turns++;
      });
    const result = await sender(transport)
      .send(request({ n: 1 }, { [BOB]: ["*"] }, true), globalWidget())
      .finally(() => {
        settled = true;
      });
    expect(result).toEqual({ kind: "delivered" });
    expect(transport.sent.flatMap((r) => r.messages)).toHaveLength(100);
    expect(turns).toBe(0);
  });
});

describe("a large encrypted send uploads while it encrypts", () => {
  /** Records when encryption calls start and end and when requests leave. */
  class TimelineTransport extends RecordingTransport {
    readonly events: string[] = [];
    readonly encryptedFor: Array<ReadonlyArray<DeviceAddress>> = [];
    inFlight = 0;
    mostInFlight = 0;
    override async encryptToDeviceMessages(
      eventType: string,
      devices: ReadonlyArray<DeviceAddress>,
      content: JsonObject,
    ): Promise<EncryptedBatch> {
      this.events.push("encrypt");
      this.encryptedFor.push(devices);
      // Encryption takes a while, as Olm's does: a macrotask per call.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = await super.encryptToDeviceMessages(eventType, devices, content);
      this.events.push("encrypted");
      return batch;
    }
    override async sendToDevice(eventType: string, messages: ReadonlyArray<DeviceMessage>) {
      this.events.push("send");
      this.inFlight++;
      this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      await super.sendToDevice(eventType, messages);
      this.inFlight--;
    }
  }

  const users = Array.from({ length: 10 }, (_, i) => `@u${i}:example.org`);
  const lists = new Map(users.map((userId) => [userId, deviceIds(100)]));

  it("sends its first request before the last device is encrypted, each device once, in the fewest requests", async () => {
    const transport = new TimelineTransport(lists);
    const result = await sender(transport).send(
      request({ pad: "x".repeat(1_200) }, Object.fromEntries(users.map((u) => [u, ["*"]])), true),
      globalWidget(),
    );
    expect(result).toEqual({ kind: "delivered" });
    expect(transport.events.indexOf("send")).toBeLessThan(
      transport.events.lastIndexOf("encrypted"),
    );
    const sentTo = transport.sent.flatMap((r) =>
      r.messages.map((m) => `${m.userId} ${m.deviceId}`),
    );
    expect(sentTo).toHaveLength(1_000);
    expect(new Set(sentTo).size).toBe(1_000);
    // ~1.2 KB ciphertexts: 1.25 MB fit in two requests of the default limits.
    expect(transport.sent).toHaveLength(2);
    expect(transport.mostInFlight).toBeLessThanOrEqual(4);
  });

  it("names every user in its first encryption call, so sessions are claimed once", async () => {
    const transport = new TimelineTransport(lists);
    await sender(transport).send(
      request({ pad: "x".repeat(1_200) }, Object.fromEntries(users.map((u) => [u, ["*"]])), true),
      globalWidget(),
    );
    expect(transport.encryptedFor.length).toBeGreaterThan(1);
    expect(new Set(transport.encryptedFor[0]?.map((d) => d.userId))).toEqual(new Set(users));
    expect(transport.encryptedFor.flat()).toHaveLength(1_000);
  });

  it("encrypts a send to 200 devices in one call", async () => {
    const transport = new TimelineTransport(new Map([[BOB, deviceIds(200)]]));
    await sender(transport).send(
      request({ pad: "x".repeat(1_200) }, { [BOB]: ["*"] }, true),
      globalWidget(),
    );
    expect(transport.encryptCalls).toBe(1);
    expect(transport.sent).toHaveLength(1);
  });
});

describe("a deadline in the middle of a pipelined send", () => {
  it("keeps what left, reports the devices not encrypted yet as deadline, and sends no more", async () => {
    // The second encryption call never ends: the deadline passes while it runs.
    class StallsAfterFirstBatch extends RecordingTransport {
      override async encryptToDeviceMessages(
        eventType: string,
        devices: ReadonlyArray<DeviceAddress>,
        content: JsonObject,
      ): Promise<EncryptedBatch> {
        if (this.encryptCalls === 1) return new Promise<never>(() => undefined);
        return super.encryptToDeviceMessages(eventType, devices, content);
      }
    }
    const transport = new StallsAfterFirstBatch(new Map([[BOB, deviceIds(1_000)]]));
    const result = await sender(transport, {
      chunkLimits: { maxMessagesPerRequest: 100, maxBytesPerRequest: 1_000_000 },
    }).send(request({ n: 1 }, { [BOB]: ["*"] }, true), {
      ...globalWidget(),
      answerDeadlineMs: 100,
    });
    // The first batch (256 devices) filled two requests, which left; the rest did not.
    const delivered = transport.sent.flatMap((r) => r.messages.map((m) => m.deviceId));
    expect(transport.sent).toHaveLength(2);
    expect(delivered).toHaveLength(200);
    expect(result.kind).toBe("delivered");
    if (result.kind !== "delivered") return;
    const failures = result.failures?.[BOB] ?? {};
    expect(Object.keys(failures)).toHaveLength(800);
    expect(new Set(Object.values(failures))).toEqual(new Set(["deadline"]));
    for (const deviceId of delivered) expect(failures[deviceId]).toBeUndefined();
  });
});

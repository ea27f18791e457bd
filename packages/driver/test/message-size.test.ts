/**
 * Section 6: the per-message cap counts what the homeserver counts, the UTF-8 bytes of a
 * device's content as JSON in the body. The sender sizes ciphertexts by walking them, not by
 * serialising them a second time; these tests hold the walk to the serialisation, byte for
 * byte, and the cap to its boundary. Property tests honour `FC_SEED` (fast-check prints the
 * seed of a failure).
 */
import type { JsonObject, JsonValue, NormalSendRequest } from "@widget-todevice/codec";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_CHUNK_LIMITS } from "../src/chunking.js";
import {
  DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
  type DeviceAddress,
  type DeviceMessage,
  type EncryptedBatch,
  SendToDeviceError,
  type ToDeviceTransport,
} from "../src/index.js";
import { jsonByteLength } from "../src/message-size.js";
import { RecipientOrder } from "../src/ordering.js";
import { DEFAULT_RETRY_OPTIONS } from "../src/retry.js";
import { ToDeviceSender } from "../src/to-device-sender.js";
import { BOB, PING } from "./harness/world.js";

const seeded = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const CAP = 65_536;

/** What Synapse counts: the JSON of the content, as UTF-8. */
const serialisedBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("jsonByteLength", () => {
  it("equals the UTF-8 bytes of JSON.stringify for any JSON value", () => {
    fc.assert(
      fc.property(
        // Any code unit: escapes, multi-byte characters, surrogate pairs and lone surrogates.
        fc.jsonValue({ stringUnit: "binary" }),
        (value) => {
          expect(jsonByteLength(value as JsonValue)).toBe(serialisedBytes(value));
        },
      ),
      { ...seeded, numRuns: 500 },
    );
  });

  it("counts escapes and multi-byte characters in keys and values", () => {
    const value = { 'k"\\\n': ["é€😀", "\u0001\u007f\u2028", "\ud800"], n: [-0, 1e21, 0.5] };
    expect(jsonByteLength(value)).toBe(serialisedBytes(value));
  });
});

/** A ciphertext content of exactly `bytes` as JSON, with characters that need escapes or UTF-8. */
function ciphertextOf(bytes: number): JsonObject {
  const special = 'é€😀"\\\n\u0001';
  const shape = (body: string) => ({
    algorithm: "m.olm.v1.curve25519-aes-sha2",
    sender_key: "k".repeat(43),
    ciphertext: { ["c".repeat(43)]: { type: 0, body } },
  });
  const filler = bytes - serialisedBytes(shape(special));
  return shape(special + "A".repeat(filler));
}

/** Encrypts into a content of a set size; answers like Synapse, 413 for an oversized message. */
class SynapseLikeTransport implements ToDeviceTransport {
  readonly sent: DeviceMessage[] = [];
  constructor(private readonly ciphertext: JsonObject) {}

  async getUserDevices(userIds: ReadonlyArray<string>) {
    return new Map(userIds.map((userId) => [userId, ["BOBDEV"]]));
  }

  async encryptToDeviceMessages(
    _eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
  ): Promise<EncryptedBatch> {
    return {
      eventType: "m.room.encrypted",
      messages: devices.map((d) => ({ ...d, content: this.ciphertext })),
      failures: [],
    };
  }

  async sendToDevice(_eventType: string, messages: ReadonlyArray<DeviceMessage>): Promise<void> {
    if (messages.some((m) => serialisedBytes(m.content) > CAP))
      throw new SendToDeviceError("Message too large", { httpStatus: 413, errcode: "M_TOO_LARGE" });
    this.sent.push(...messages);
  }

  onToDeviceMessage(): () => void {
    return () => undefined;
  }
}

async function sendEncrypted(transport: ToDeviceTransport) {
  const sender = new ToDeviceSender({
    transport,
    encryptionPolicy: "strict",
    allowGlobalCleartext: false,
    chunkLimits: DEFAULT_CHUNK_LIMITS,
    retry: DEFAULT_RETRY_OPTIONS,
    maxMessageBytes: CAP,
    maxUploadBytesPerSend: DEFAULT_MAX_UPLOAD_BYTES_PER_SEND,
    deviceListTimeoutMs: 1_000,
    maxConcurrentRequests: 4,
    logger: { warn: () => undefined, error: () => undefined },
  });
  const request = {
    format: "recipients",
    type: PING,
    encrypted: true,
    groups: [{ content: { key: "k" }, recipients: { [BOB]: ["BOBDEV"] } }],
  } as NormalSendRequest;
  return sender.send(request, {
    roomId: null,
    roomEncrypted: () => false,
    widgetType: "org.example.app",
    order: new RecipientOrder(),
    answerDeadlineMs: 55_000,
  });
}

describe("the per-message cap on a ciphertext", () => {
  it("sends a ciphertext of exactly 65,536 bytes as Synapse counts them", async () => {
    const ciphertext = ciphertextOf(CAP);
    expect(serialisedBytes(ciphertext)).toBe(CAP);
    const transport = new SynapseLikeTransport(ciphertext);
    expect(await sendEncrypted(transport)).toEqual({ kind: "delivered" });
    expect(transport.sent).toHaveLength(1);
  });

  it("reports a ciphertext of 65,537 bytes too_large, and never sends it for a 413", async () => {
    const ciphertext = ciphertextOf(CAP + 1);
    expect(serialisedBytes(ciphertext)).toBe(CAP + 1);
    const transport = new SynapseLikeTransport(ciphertext);
    const result = await sendEncrypted(transport);
    expect(result).toMatchObject({ kind: "failed", failures: { [BOB]: { BOBDEV: "too_large" } } });
    expect(transport.sent).toEqual([]);
  });

  it("sizes a ciphertext without serialising it: matrix-js-sdk serialises it once, for the body", async () => {
    const ciphertext = ciphertextOf(10_000);
    const stringify = vi.spyOn(JSON, "stringify");
    const transport = new SynapseLikeTransport(ciphertext);
    // The transport's own check serialises; the sender's sizing must not.
    const sendToDevice = vi.spyOn(transport, "sendToDevice").mockResolvedValue(undefined);
    expect(await sendEncrypted(transport)).toEqual({ kind: "delivered" });
    expect(sendToDevice).toHaveBeenCalledTimes(1);
    expect(stringify.mock.calls.filter(([value]) => value === ciphertext)).toEqual([]);
  });
});

/** Chunking, retry and ordering units. `sendWithRetry` is driven by a FAKE attempt function. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chunkMessages, type SizedMessage } from "../src/chunking.js";
import { utf8Length } from "../src/message-size.js";
import { RecipientOrder } from "../src/ordering.js";
import { DEFAULT_RETRY_OPTIONS, sendWithRetry } from "../src/retry.js";
import { SendToDeviceError } from "../src/transport.js";

const message = (i: number, bytes: number): SizedMessage => ({
  userId: "@u:x",
  deviceId: `D${i}`,
  content: {},
  bytes,
});

describe("chunkMessages", () => {
  it("bounds count and bytes, keeps order, and lets one large message travel alone", () => {
    const messages = [
      message(0, 10),
      message(1, 10),
      message(2, 10),
      message(3, 500),
      message(4, 10),
    ];
    const chunks = chunkMessages(messages, { maxMessagesPerRequest: 2, maxBytesPerRequest: 100 });
    expect(chunks.map((c) => c.map((m) => m.deviceId))).toEqual([
      ["D0", "D1"],
      ["D2"],
      ["D3"],
      ["D4"],
    ]);
    expect(chunkMessages([], { maxMessagesPerRequest: 2, maxBytesPerRequest: 100 })).toEqual([]);
  });
});

describe("utf8Length", () => {
  it("counts UTF-8 bytes", () => {
    for (const text of ["abc", "é", "€", "😀", "a😀é"])
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
  });
});

describe("sendWithRetry", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits retry_after_ms on 429", async () => {
    const times: number[] = [];
    let calls = 0;
    const outcome = sendWithRetry(async () => {
      times.push(Date.now());
      if (calls++ === 0)
        throw new SendToDeviceError("slow down", { httpStatus: 429, retryAfterMs: 1_500 });
    }, DEFAULT_RETRY_OPTIONS);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(await outcome).toEqual({ kind: "accepted", attempts: 2 });
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBe(1_500);
  });

  it("backs off exponentially on 5xx and gives up after maxAttempts", async () => {
    const times: number[] = [];
    const outcome = sendWithRetry(
      async () => {
        times.push(Date.now());
        throw new SendToDeviceError("down", { httpStatus: 500 });
      },
      { ...DEFAULT_RETRY_OPTIONS, maxAttempts: 4 },
      undefined,
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const result = await outcome;
    expect(result.kind).toBe("gave_up");
    expect(result.attempts).toBe(4);
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual([250, 500, 1_000]);
  });

  it("stops at the deadline and when aborted", async () => {
    const failing = async () => {
      throw new SendToDeviceError("no answer");
    };
    const deadline = sendWithRetry(
      failing,
      { ...DEFAULT_RETRY_OPTIONS, deadlineMs: 600, maxAttempts: 100 },
      undefined,
      () => 0.5,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await deadline).attempts).toBe(2);

    const controller = new AbortController();
    const aborted = sendWithRetry(failing, DEFAULT_RETRY_OPTIONS, controller.signal);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(await aborted).toMatchObject({ kind: "gave_up", attempts: 1 });
  });

  it("treats an unclassified error as a network error", async () => {
    let calls = 0;
    const outcome = sendWithRetry(async () => {
      if (calls++ === 0) throw new TypeError("fetch failed");
    }, DEFAULT_RETRY_OPTIONS);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toEqual({ kind: "accepted", attempts: 2 });
  });
});

describe("RecipientOrder", () => {
  it("orders sends that share a user and frees memory", async () => {
    const order = new RecipientOrder();
    const log: string[] = [];
    const first = order.take(["@a:x", "@b:x"]);
    const second = order.take(["@b:x"]);
    const third = order.take(["@c:x"]);
    void second.ready.then(() => log.push("second"));
    void third.ready.then(() => log.push("third"));
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(["third"]);
    first.release();
    await second.ready;
    expect(log).toEqual(["third", "second"]);
    second.release();
    third.release();
    expect(order.busyUsers).toBe(0);
  });
});

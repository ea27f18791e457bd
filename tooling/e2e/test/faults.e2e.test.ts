/**
 * Conformance 14 and section 6's delivery semantics against a real Synapse behind a fault
 * proxy: Alice's client talks to Synapse through the proxy, which answers `/sendToDevice` with
 * 429s, 500s (before and after Synapse accepted the request), slow answers and dropped
 * connections. Every message is delivered exactly once or reported as failed in the widget's
 * reply, and the messages to one device arrive in the order the widget sent them.
 */

import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
  stopAllClients,
  userWithDevices,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2eHost, hostOn, PING, send } from "./support/widgets.js";

let proxy: FaultProxy;
let alice: StartedClient;
let host: E2eHost;
let bob: StartedClient[];
let room: string;

beforeAll(async () => {
  const hs = homeserver();
  proxy = await FaultProxy.start(hs.baseUrl);
  alice = await startClient(await hs.registerUser(), { baseUrl: proxy.url });
  bob = await Promise.all((await userWithDevices(hs, 2)).map((s) => startClient(s)));
  room = await encryptedRoom(alice, [], true);
  host = hostOn(alice, {
    driver: { retry: { initialBackoffMs: 100, maxBackoffMs: 400, maxAttempts: 5 } },
  });
});

afterAll(async () => {
  stopAllClients();
  await proxy.stop();
});

const ns = (c: StartedClient, tag: string) =>
  c.received
    .filter((r) => r.message.type === PING && (r.message.content as { tag?: string }).tag === tag)
    .map((r) => ({
      n: (r.message.content as { n: number }).n,
      encrypted: r.encryptionInfo !== null,
    }));

async function widget() {
  return (
    await host.widget({ roomId: room }, { capabilities: [send(PING)], advertisesFormats: true })
  ).frame;
}

const to = (devices: ReadonlyArray<StartedClient>) => ({
  [(devices[0] as StartedClient).userId]: devices.map((d) => d.deviceId),
});

/**
 * Sends a barrier by the same path as the messages before it (same widget, same devices) and
 * waits for it at every device: messages to one device arrive in order, so anything sent
 * earlier, a second copy included, has arrived by then.
 */
async function barrier(frame: Awaited<ReturnType<typeof widget>>, tag: string): Promise<void> {
  const reply = await frame.send({
    type: PING,
    recipient_devices: to(bob),
    content: { tag: `${tag}-barrier`, n: 0 },
  });
  expect(reply).toEqual({ ok: true, response: {} });
  for (const b of bob)
    await eventually(() => ns(b, `${tag}-barrier`).length > 0, `the barrier at ${b.deviceId}`);
}

describe("conformance 14: 429 with retry_after_ms", () => {
  it("delivers exactly once, and replies only after the homeserver accepted it", async () => {
    const frame = await widget();
    proxy.failNextSends(
      { kind: "rate_limited", retryAfterMs: 300 },
      { kind: "rate_limited", retryAfterMs: 300 },
    );
    const started = Date.now();
    const reply = await frame.send({
      type: PING,
      recipient_devices: to(bob),
      content: { tag: "429", n: 1 },
    });
    const repliedAt = Date.now();
    expect(reply).toEqual({ ok: true, response: {} });
    expect(repliedAt - started).toBeGreaterThanOrEqual(600);
    const sends = proxy.sends.filter((s) => s.at >= started);
    expect(sends.map((s) => s.outcome)).toEqual([429, 429, 200]);
    // One transaction ID across the attempts.
    expect(new Set(sends.map((s) => s.txnId)).size).toBe(1);
    const accepted = sends.find((s) => s.outcome === 200);
    expect(accepted?.at).toBeLessThanOrEqual(repliedAt);
    for (const b of bob) await eventually(() => ns(b, "429").length > 0, `429 at ${b.deviceId}`);
    await barrier(frame, "429");
    for (const b of bob) expect(ns(b, "429")).toEqual([{ n: 1, encrypted: true }]);
  });

  it("honours Retry-After given as a header", async () => {
    const frame = await widget();
    proxy.failNextSends({ kind: "rate_limited_header", retryAfterSeconds: 1 });
    const started = Date.now();
    const reply = await frame.send({
      type: PING,
      recipient_devices: to(bob),
      content: { tag: "retry-after", n: 1 },
    });
    expect(reply).toEqual({ ok: true, response: {} });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    for (const b of bob)
      await eventually(() => ns(b, "retry-after").length === 1, `retry-after at ${b.deviceId}`);
  });
});

describe("every fault: exactly once or reported, in order per device", () => {
  it("six sends meeting 429, 500, a drop, a slow answer, a drop after delivery and a 500 after delivery", async () => {
    const frame = await widget();
    proxy.failNextSends(
      { kind: "rate_limited", retryAfterMs: 150 },
      { kind: "http_error", status: 500 },
      { kind: "drop" },
      { kind: "slow", delayMs: 1_500 },
      { kind: "drop", afterForwarding: true },
      { kind: "http_error", status: 502, afterForwarding: true },
    );
    const started = Date.now();
    // Sent without waiting for each other, as a busy widget does.
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        frame.send({ type: PING, recipient_devices: to(bob), content: { tag: "mixed", n } }),
      ),
    );
    for (const reply of replies) expect(reply).toEqual({ ok: true, response: {} });
    expect(proxy.pendingFaults).toBe(0);
    const sends = proxy.sends.filter((s) => s.at >= started);
    // Every attempt of a send reuses its transaction ID, so Synapse delivers once however often
    // it saw it (the drop and the 502 after forwarding were seen twice).
    expect(sends.filter((s) => s.forwarded).length).toBeGreaterThan(6);
    expect(new Set(sends.map((s) => s.txnId)).size).toBe(6);
    await barrier(frame, "mixed");
    for (const b of bob) expect(ns(b, "mixed").map((m) => m.n)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a send whose retries run out is reported with the status, and nothing arrives", async () => {
    const frame = await widget();
    proxy.failNextSends(
      ...Array.from({ length: 5 }, () => ({ kind: "http_error", status: 503 }) as const),
    );
    const reply = await frame.send({
      type: PING,
      recipient_devices: to(bob),
      content: { tag: "exhausted", n: 1 },
    });
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      const b0 = bob[0] as StartedClient;
      expect(reply.data.failures).toEqual({
        [b0.userId]: Object.fromEntries(bob.map((b) => [b.deviceId, "http_503"])),
      });
      expect(reply.data.matrix_api_error).toMatchObject({ http_status: 503 });
    }
    // The next send goes through: the lane was released.
    const next = await frame.send({
      type: PING,
      recipient_devices: to(bob),
      content: { tag: "exhausted", n: 2 },
    });
    expect(next).toEqual({ ok: true, response: {} });
    // n=2 is the barrier: same widget, same devices, so n=1 would have arrived before it.
    for (const b of bob) {
      await eventually(() => ns(b, "exhausted").some((m) => m.n === 2), `n=2 at ${b.deviceId}`);
      expect(ns(b, "exhausted").map((m) => m.n)).toEqual([2]);
    }
  });

  it("a 4xx other than 429 is not retried", async () => {
    const frame = await widget();
    proxy.failNextSends({ kind: "http_error", status: 400 });
    const started = Date.now();
    const reply = await frame.send({
      type: PING,
      recipient_devices: to(bob),
      content: { tag: "400", n: 1 },
    });
    expect(reply.ok).toBe(false);
    // A later send to the same devices queues behind any retry of the first (sends to one user
    // go one after another, section 6), so once it is answered a retry would be in the log.
    expect(
      await frame.send({ type: PING, recipient_devices: to(bob), content: { tag: "400", n: 2 } }),
    ).toEqual({ ok: true, response: {} });
    const sends = proxy.sends.filter((s) => s.at >= started);
    expect(sends.map((s) => s.outcome)).toEqual([400, 200]);
    expect(new Set(sends.map((s) => s.txnId)).size).toBe(2);
  });
});

/**
 * Section 6's answer deadline against a real Synapse behind the fault proxy, with a stock
 * matrix-widget-api widget (legacy format, `WidgetApi.sendToDevice`, 10 s timeout). A slow or
 * rate-limiting homeserver gets the widget the driver's own answer, not its 10 s timeout (a
 * timeout is a different error), and nothing of a send leaves after its answer: a barrier sent
 * afterwards arrives, the answered message does not.
 */

import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { homeserver } from "@widget-todevice/matrix-clients/homeserver";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  startClient,
  stopAllClients,
} from "@widget-todevice/matrix-clients/matrix";
import { WidgetApiResponseError } from "matrix-widget-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WidgetFrame } from "./support/widget-frame.js";
import { type E2eHost, hostOn, PING, send } from "./support/widgets.js";

let proxy: FaultProxy;
let alice: StartedClient;
let bob: StartedClient;
let host: E2eHost;
let room: string;

beforeAll(async () => {
  const hs = homeserver();
  proxy = await FaultProxy.start(hs.baseUrl);
  alice = await startClient(await hs.registerUser(), { baseUrl: proxy.url });
  bob = await startClient(await hs.registerUser());
  room = await encryptedRoom(alice, [], true);
  host = hostOn(alice);
});

afterAll(async () => {
  stopAllClients();
  await proxy.stop();
});

const tagged = (tag: string) =>
  bob.received
    .filter((r) => r.message.type === PING && (r.message.content as { tag?: string }).tag === tag)
    .map((r) => (r.message.content as { n: number }).n);

/** A stock widget: it advertises no format identifier and sends in the legacy format. */
async function stockWidget(): Promise<WidgetFrame> {
  const { frame } = await host.widget({ roomId: room }, { capabilities: [send(PING)] });
  return frame;
}

/** What the widget's `sendToDevice` ended with: `{}` or the driver's error reply. */
async function stockSend(frame: WidgetFrame, tag: string, n: number) {
  try {
    await frame.widgetApi.sendToDevice(PING, true, {
      [bob.userId]: { [bob.deviceId]: { tag, n } },
    });
    return { ok: true as const };
  } catch (error) {
    // The widget's own timeout rejects with a plain Error, not a reply from the driver.
    expect(error).toBeInstanceOf(WidgetApiResponseError);
    const { message, data } = error as WidgetApiResponseError;
    // The driver's reply carries `failures` next to matrix-widget-api's own details.
    const { failures } = data as { failures?: unknown };
    return { ok: false as const, message, failures };
  }
}

/** Sends a barrier and waits for it at Bob's device: what was not there by then never left. */
async function barrier(frame: WidgetFrame, tag: string): Promise<void> {
  expect(await stockSend(frame, tag, 99)).toEqual({ ok: true });
  await eventually(() => tagged(tag).includes(99), `the barrier at ${bob.deviceId}`);
}

describe("a stock widget behind a faulty homeserver", () => {
  it("is answered before its 10 s timeout when 429s ask for long waits, and the send stops", async () => {
    const frame = await stockWidget();
    // Olm session and device lists first, so that only the faults take time.
    expect(await stockSend(frame, "warm-up", 1)).toEqual({ ok: true });
    proxy.failNextSends(
      { kind: "rate_limited", retryAfterMs: 6_000 },
      { kind: "rate_limited", retryAfterMs: 6_000 },
    );
    const started = Date.now();
    const reply = await stockSend(frame, "rate-limited", 1);
    expect(reply).toMatchObject({
      ok: false,
      failures: { [bob.userId]: { [bob.deviceId]: "http_429" } },
    });
    // The barrier goes to the same device, so it would wait behind any later retry.
    await barrier(frame, "rate-limited");
    expect(tagged("rate-limited")).toEqual([99]);
    expect(proxy.sends.filter((s) => s.at >= started).map((s) => s.outcome)).toEqual([
      429, 429, 200,
    ]);
  });

  it("hears `outcome_unknown` for a request Synapse is slow to answer; a send queued behind it never leaves", async () => {
    const frame = await stockWidget();
    expect(await stockSend(frame, "warm-up-2", 1)).toEqual({ ok: true });
    proxy.failNextSends({ kind: "slow", delayMs: 14_000 });
    const started = Date.now();
    const [slow, queued] = await Promise.all([
      stockSend(frame, "slow", 1),
      stockSend(frame, "slow", 2),
    ]);
    expect(slow).toMatchObject({
      ok: false,
      failures: { [bob.userId]: { [bob.deviceId]: "outcome_unknown" } },
    });
    expect(slow.ok ? "" : slow.message).toMatch(/outcome is unknown/);
    expect(queued).toMatchObject({
      ok: false,
      failures: { [bob.userId]: { [bob.deviceId]: "deadline" } },
    });
    // The slow request reaches Synapse late; then the lane is free for the barrier.
    await eventually(
      () => proxy.sends.some((s) => s.at >= started && s.forwarded),
      "the slow request to be forwarded",
      20_000,
    );
    await barrier(frame, "slow");
    // The slow request was delivered (its outcome was unknown to the widget); the queued send
    // was answered `deadline` and never sent.
    expect(tagged("slow")).toEqual([1, 99]);
    expect(proxy.sends.filter((s) => s.at >= started)).toHaveLength(2);
  });
});

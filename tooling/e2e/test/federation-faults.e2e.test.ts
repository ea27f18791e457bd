/**
 * A fault only federation has: the recipients' server goes away for a while and comes back.
 *
 * What a widget's reply means here: `{}` says that the *sender's* homeserver (hs1) accepted every
 * message, which is all MSC3819 asks of a reply and all the driver can know. Delivery to another
 * server is hs1's job from then on: it keeps the messages in its federation outbox and retries
 * the peer (Synapse 1.160: after about 4 s, 16 s, then every 60 s, ten times, then a back-off
 * that a request from the peer clears). So while hs2 is down, sends to its devices are answered
 * `{}`, and they arrive after hs2 returns, exactly once and in order per device. What the driver
 * cannot do while hs2 is down, it reports: a device it has no Olm session with needs a one-time
 * key that only hs2 can hand out, so that device is `no_olm_session`, never a bare `{}`.
 */
import type { UserSession } from "@widget-todevice/homeserver";
import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { LightDevice } from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  eventually,
  type StartedClient,
  sleep,
  startClient,
  stopAllClients,
  userWithDevices,
} from "@widget-todevice/matrix-clients/matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestFederation, type TestFederation } from "./support/federation.js";
import { type E2eHost, hostOn, PING, send } from "./support/widgets.js";

let fed: TestFederation;
/** In front of hs1 for Alice's client, faultless: its log shows what her client sent. */
let proxy: FaultProxy;
let alice: StartedClient;
let host: E2eHost;
let bob: StartedClient[];
/**
 * Dave's device (hs2), which joins the room after Alice's first send: no Olm session with it.
 * (Not a third device of Bob's: matrix-js-sdk claims one-time keys for every device of a user it
 * encrypts for, so Bob's third device would have a session after the first send.)
 */
let fresh: LightDevice;
let room: string;

beforeAll(async () => {
  fed = await startTestFederation();
  const { hs1, hs2 } = fed;
  proxy = await FaultProxy.start(hs1.baseUrl);
  alice = await startClient(await hs1.registerUser(), { homeserver: hs1, baseUrl: proxy.url });
  const sessions = await userWithDevices(hs2, 2);
  bob = await Promise.all(sessions.map((s) => startClient(s, { homeserver: hs2 })));
  fresh = await LightDevice.create(hs2.baseUrl, await hs2.registerUser());
  // A call's room: encrypted, spanning both servers; hs1 keeps its members' device lists.
  room = await encryptedRoom(alice, bob, true);
  host = hostOn(alice);
}, 120_000);

afterAll(async () => {
  stopAllClients();
  await proxy?.stop();
  await fed?.federation.stop();
});

async function joinOverHttp(baseUrl: string, session: UserSession, roomId: string) {
  const response = await fetch(`${baseUrl}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${session.accessToken}`, "content-type": "application/json" },
    body: "{}",
  });
  expect(response.status).toBe(200);
}

const ns = (c: StartedClient, tag: string) =>
  c.received
    .filter((r) => r.message.type === PING && (r.message.content as { tag?: string }).tag === tag)
    .map((r) => ({
      n: (r.message.content as { n: number }).n,
      encrypted: r.encryptionInfo !== null,
    }));

describe("the recipients' server is stopped for a while and restarted", () => {
  it("sends meanwhile are answered for what hs1 accepted, then delivered once and in order per device", async () => {
    const { frame } = await host.widget(
      { roomId: room },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const bobId = (bob[0] as StartedClient).userId;
    const to = { [bobId]: bob.map((b) => b.deviceId) };
    // Olm sessions with Bob's two running devices, while hs2 is up.
    expect(
      await frame.send({ type: PING, recipient_devices: to, content: { tag: "warm", n: 0 } }),
    ).toEqual({ ok: true, response: {} });
    for (const b of bob)
      await eventually(() => ns(b, "warm").length > 0, `warm-up at ${b.deviceId}`, 20_000);
    await fed.hs2.halt();
    const downAt = Date.now();
    // Three sent at once, as a busy widget does, then two more one after another.
    const replies = await Promise.all(
      [1, 2, 3].map((n) =>
        frame.send({ type: PING, recipient_devices: to, content: { tag: "outage", n } }),
      ),
    );
    for (const n of [4, 5])
      replies.push(
        await frame.send({ type: PING, recipient_devices: to, content: { tag: "outage", n } }),
      );
    // hs1 accepted all of them: the reply says so, and only so.
    for (const reply of replies) expect(reply).toEqual({ ok: true, response: {} });
    const repliedIn = Date.now() - downAt;

    // Down "for a while" (the outage itself, not a wait for anything): hs1 meets a dead peer
    // and backs off. Bob's clients cannot sync, so nothing can have arrived.
    await sleep(Math.max(0, 5_000 - (Date.now() - downAt)));
    for (const b of bob) expect(ns(b, "outage")).toEqual([]);

    await fed.hs2.restart();
    const upAt = Date.now();
    // Bob's clients were backing off from their dead server; apps retry on reconnect.
    for (const b of bob) b.client.retryImmediately();
    for (const b of bob)
      await eventually(
        () => ns(b, "outage").length >= 5,
        `the five messages at ${b.deviceId}`,
        90_000,
      );
    const deliveredIn = Date.now() - upAt;
    // Afterwards, sends reach Bob's devices as before. Sent after the five from the same device
    // to the same devices, this one is also a barrier: messages to one device arrive in order,
    // so once it is in, any second copy of the five would have arrived too.
    expect(
      await frame.send({ type: PING, recipient_devices: to, content: { tag: "after", n: 6 } }),
    ).toEqual({ ok: true, response: {} });
    for (const b of bob)
      await eventually(() => ns(b, "after").length === 1, `after at ${b.deviceId}`, 20_000);
    // Once each, in the order the widget sent them.
    for (const b of bob)
      expect(ns(b, "outage")).toEqual([1, 2, 3, 4, 5].map((n) => ({ n, encrypted: true })));
    console.info(
      `federation outage: 5 replies in ${repliedIn} ms while hs2 was down; delivered ${deliveredIn} ms after it was back (downtime ${upAt - downAt} ms)`,
    );
  }, 180_000);

  it("a device the driver cannot encrypt for while its server is down is reported, never answered {}", async () => {
    const { frame } = await host.widget(
      { roomId: room },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    // Dave joins now: Alice's client learns his device, and (matrix-js-sdk claims one-time keys
    // for every member it can when it encrypts) has no Olm session with it yet.
    await alice.client.invite(room, fresh.userId);
    await joinOverHttp(fed.hs2.baseUrl, fresh.session, room);
    await eventually(
      () => alice.client.getRoom(room)?.getMember(fresh.userId)?.membership === "join",
      "Dave's join at Alice's client",
      20_000,
    );
    const crypto = alice.client.getCrypto();
    for (let tries = 0; ; tries++) {
      const devices = await crypto?.getUserDeviceInfo([fresh.userId], true);
      if (devices?.get(fresh.userId)?.has(fresh.deviceId)) break;
      if (tries > 100) throw new Error("Alice's client never learnt Dave's device");
      await sleep(50);
    }

    await fed.hs2.halt();
    const started = Date.now();
    // Its one-time key is on hs2, out of reach: no Olm session, nothing sent.
    const noSession = await frame.send({
      type: PING,
      recipient_devices: { [fresh.userId]: [fresh.deviceId] },
      content: { tag: "no-session", n: 1 },
    });
    expect(noSession.ok).toBe(false);
    if (!noSession.ok)
      expect(noSession.data.failures).toEqual({
        [fresh.userId]: { [fresh.deviceId]: "no_olm_session" },
      });
    // Nothing sent is checked where it would leave, in the log of Alice's requests to hs1. The
    // barrier: a send to Dave and Bob waits for every earlier send to either (sends to one user
    // go in order, section 6), and Bob's part reaches hs1, so once it is logged any request
    // for Dave's device from the first send would have been logged before it.
    const bobId = (bob[0] as StartedClient).userId;
    const barrier = await frame.send({
      type: PING,
      recipient_devices: {
        [fresh.userId]: [fresh.deviceId],
        [bobId]: bob.map((b) => b.deviceId),
      },
      content: { tag: "no-session-barrier", n: 2 },
    });
    expect(barrier).toEqual({
      ok: true,
      response: { failures: { [fresh.userId]: { [fresh.deviceId]: "no_olm_session" } } },
    });
    const sent = proxy.sends.filter((s) => s.at >= started);
    expect(sent.filter((s) => bobId in s.recipients)).toHaveLength(1);
    expect(sent.filter((s) => fresh.userId in s.recipients)).toEqual([]);
    await fed.hs2.restart();
    // Not checked here: delivery to Dave's device. After this failed key claim hs1 backs off from
    // hs2, and in our runs its next federation transaction to hs2 then stalled for over a minute
    // (Synapse 1.160), so no barrier could follow the same path within the test's time.
  }, 60_000);
});

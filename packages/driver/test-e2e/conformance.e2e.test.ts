/**
 * Conformance cases on a real Synapse with real Olm: Alice's matrix-js-sdk client runs the
 * driver through the production transport; a real matrix-widget-api widget sends; Bob's and
 * Carol's real clients (Rust crypto) receive and decrypt.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  encryptedRoom,
  eventually,
  homeserver,
  type StartedClient,
  startClient,
  stopAllClients,
} from "./support/matrix.js";
import { hostOn, PING, send } from "./support/widgets.js";

afterAll(() => stopAllClients());

const pings = (c: StartedClient) => c.received.filter((r) => r.message.type === PING);

describe("conformance 1: a stock WidgetApi sends legacy encrypted to a user sharing no room", () => {
  it("Bob's device decrypts {hello: world} from Alice's device; the widget gets {}", async () => {
    const hs = homeserver();
    const alice = await startClient(await hs.registerUser());
    const bob = await startClient(await hs.registerUser());
    const room = await encryptedRoom(alice, [], false);
    const host = hostOn(alice);
    const { frame } = await host.widget({ roomId: room }, { capabilities: [send(PING)] });

    const reply = await frame.widgetApi.sendToDevice(PING, true, {
      [bob.userId]: { [bob.deviceId]: { hello: "world" } },
    });

    expect(reply).toEqual({});
    const [got] = await eventually(() => pings(bob).length > 0 && pings(bob), "Bob's message");
    expect(got?.message.content).toEqual({ hello: "world" });
    expect(got?.encryptionInfo).toMatchObject({
      sender: alice.userId,
      senderDevice: alice.deviceId,
    });
  });
});

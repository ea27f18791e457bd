/**
 * Sending to nobody is a truthful `{}` (ADR 0003): a widget that computes its recipients, such as
 * Element Call alone in a call, need not special-case an empty map. Nothing reaches the
 * homeserver.
 */
import { describe, expect, it } from "vitest";
import { BOB, createWorld, PING, send } from "./harness/world.js";

describe("a request with no recipients", () => {
  it.each([
    ["legacy", { type: PING, encrypted: true, messages: {} }],
    ["legacy, cleartext", { type: PING, encrypted: false, messages: {} }],
    ["recipients", { type: PING, recipient_devices: {}, content: { n: 1 } }],
    [
      "scoped",
      { type: PING, recipient_devices: {}, content: { n: 1 }, scope: { id: "org.example" } },
    ],
  ])("%s: answers {} and sends nothing", async (_format, request) => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomEncrypted: false },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    expect(await frame.send(request)).toEqual({ ok: true, response: {} });
    // Barrier: a send that must arrive, so the empty one had every chance to reach the wire.
    expect(
      await frame.send({ type: PING, recipient_devices: { [BOB]: ["BOBDEV"] }, content: {} }),
    ).toEqual({ ok: true, response: {} });
    expect(world.homeserver.sendLog).toHaveLength(1);
    expect(world.homeserver.sendLog[0]?.messageCount).toBe(1);
  });

  it("resolves forWidgetDriver's method without an error", async () => {
    const world = createWorld();
    const sendToDevice = world.driver.forWidgetDriver({
      roomId: "!r1:example.org",
      roomEncrypted: true,
      widgetType: "x",
    });
    await expect(sendToDevice(PING, true, {})).resolves.toBeUndefined();
    expect(world.homeserver.sendLog).toEqual([]);
  });

  it("is still refused when the policy refuses it", async () => {
    const world = createWorld();
    const { frame } = await world.widget(
      { roomEncrypted: true },
      { capabilities: [send(PING)], advertisesFormats: true },
    );
    const reply = await frame.send({ type: PING, encrypted: false, messages: {} });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.message).toMatch(/no downgrade/);
  });
});

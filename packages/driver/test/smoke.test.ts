import { describe, expect, it } from "vitest";
import { BOB, createWorld, PING, send, settle } from "./harness/world.js";

describe("smoke", () => {
  it("delivers a legacy send", async () => {
    const world = createWorld();
    const { frame } = await world.widget({}, { capabilities: [send(PING)] });
    const result = await frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { hello: "world" } } });
    await settle();
    expect(result).toEqual({});
    expect(world.bob.received.map((r) => r.message.content)).toEqual([{ hello: "world" }]);
  });
});

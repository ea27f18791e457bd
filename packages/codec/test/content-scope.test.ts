// Sections 3.3 and 7: the scope a receiver reads from a scoped message's content.
import { describe, expect, it } from "vitest";
import { isScopedTo, readScope } from "../src/index.js";

const ROOM = "!room:example.org";

describe("readScope", () => {
  it("reads the room and id the driver stamped", () => {
    expect(readScope({ keys: 1, scope: { room_id: ROOM, id: "m.call" } })).toEqual({
      room_id: ROOM,
      id: "m.call",
    });
    expect(readScope({ scope: { room_id: ROOM } })).toEqual({ room_id: ROOM });
    expect(isScopedTo({ scope: { room_id: ROOM } }, ROOM)).toBe(true);
  });

  it.each([
    ["no scope", { keys: 1 }],
    ["a scope without a room", { scope: { id: "m.call" } }],
    ["an empty room ID", { scope: { room_id: "" } }],
    ["a room ID that is not a string", { scope: { room_id: 1 } }],
    ["an id that is not a string", { scope: { room_id: ROOM, id: 1 } }],
    ["a scope that is a string", { scope: ROOM }],
    ["a scope that is a list", { scope: [ROOM] }],
    ["content that is not an object", "x"],
    ["a room inherited from a prototype", { scope: Object.create({ room_id: ROOM }) }],
    ["a scope inherited from a prototype", Object.create({ scope: { room_id: ROOM } })],
  ])("%s is no scope", (_, content) => {
    expect(readScope(content)).toBeUndefined();
    expect(isScopedTo(content, ROOM)).toBe(false);
  });

  it("another room's scope is not this room's", () => {
    expect(isScopedTo({ scope: { room_id: "!other:example.org" } }, ROOM)).toBe(false);
  });

  it("a proxy that throws reads as no scope", () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("no");
        },
      },
    );
    expect(readScope(hostile)).toBeUndefined();
    expect(readScope({ scope: hostile })).toBeUndefined();
  });
});

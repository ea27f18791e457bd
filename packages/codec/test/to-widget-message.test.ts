// Section 7: what a widget receives. Pure code, no fakes.
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeToWidgetMessage, encodeToWidgetMessage } from "../src/index.js";

const message = {
  type: "org.example.ping",
  sender: "@alice:example.org",
  encrypted: true,
  content: { hello: "world" },
};

describe("to-widget messages", () => {
  it("decodes the four fields and the optional sender facts", () => {
    expect(decodeToWidgetMessage(message)).toEqual(E.right(message));
    const full = { ...message, sender_device: "ALICEDEV", sender_verified: false };
    expect(decodeToWidgetMessage(full)).toEqual(E.right(full));
  });

  it("drops envelope fields a legacy host copies from the raw event", () => {
    const raw = {
      ...message,
      keys: { ed25519: "k" },
      recipient: "@bob:example.org",
      sender_device_keys: {},
      recipient_keys: {},
    };
    expect(decodeToWidgetMessage(raw)).toEqual(E.right(message));
  });

  it("encodes exactly the fields of section 7", () => {
    const leaky = { ...message, recipient: "@bob:example.org" } as typeof message;
    expect(Object.keys(encodeToWidgetMessage(leaky))).toEqual([
      "type",
      "sender",
      "encrypted",
      "content",
    ]);
  });

  it("refuses sender facts on a cleartext message", () => {
    const result = decodeToWidgetMessage({ ...message, encrypted: false, sender_device: "D" });
    expect(E.isLeft(result) && result.left[0]?.code).toBe("conflicting_fields");
  });

  it.each([
    ["type", { ...message, type: 1 }],
    ["sender", { ...message, sender: "alice" }],
    ["encrypted", { ...message, encrypted: "true" }],
    ["content", { ...message, content: [] }],
    ["sender_device", { ...message, sender_device: 4 }],
    ["sender_verified", { ...message, sender_verified: "yes" }],
  ])("names the bad field %s", (path, input) => {
    const result = decodeToWidgetMessage(input);
    expect(E.isLeft(result) && result.left.map((issue) => issue.path)).toEqual([path]);
  });
});

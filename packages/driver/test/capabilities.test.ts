/** The capability helper (pure functions, no fakes needed). */
import { describe, expect, it } from "vitest";
import {
  describeToDeviceCapability,
  isGrantableToDeviceCapability,
  reviewToDeviceCapabilities,
  validateToDeviceCapabilities,
} from "../src/index.js";

describe("reviewToDeviceCapabilities", () => {
  it("sorts grantable, refused and other capabilities, accepting both spellings", () => {
    const review = reviewToDeviceCapabilities([
      "org.matrix.msc3819.send.to_device:org.example.ping",
      "m.receive.to_device:org.example.ping",
      "org.matrix.msc3819.receive.to_device:m.room_key",
      "m.send.to_device:m.key.verification.start",
      "org.matrix.msc3819.send.to_device:org.example.*",
      "org.matrix.msc2762.timeline:*",
    ]);
    expect(review.grantable.map((r) => [r.direction, r.type, r.capability])).toEqual([
      ["send", "org.example.ping", "org.matrix.msc3819.send.to_device:org.example.ping"],
      ["receive", "org.example.ping", "m.receive.to_device:org.example.ping"],
    ]);
    expect(review.refused.map((r) => r.capability)).toEqual([
      "org.matrix.msc3819.receive.to_device:m.room_key",
      "m.send.to_device:m.key.verification.start",
      "org.matrix.msc3819.send.to_device:org.example.*",
    ]);
    expect(review.refused[0]?.reason).toMatch(
      /`m.room_key` is reserved for your client's own encryption keys/,
    );
    expect(review.refused[2]?.reason).toMatch(/wildcards are not supported/);
    expect(review.others).toEqual(["org.matrix.msc2762.timeline:*"]);
  });

  it("describes capabilities as account-wide", () => {
    expect(describeToDeviceCapability("send", "org.example.ping")).toBe(
      "Send `org.example.ping` messages to any of your contacts' devices (from your account, not only in this room)",
    );
    expect(describeToDeviceCapability("receive", "org.example.ping")).toMatch(
      /^Receive `org.example.ping` messages .*not only in this room/,
    );
  });
});

describe("validateToDeviceCapabilities", () => {
  it("never approves reserved types, whatever the host answers", async () => {
    const approved = await validateToDeviceCapabilities(
      [
        "org.matrix.msc3819.receive.to_device:m.room_key",
        "m.send.to_device:org.example.ping",
        "org.matrix.msc2931.navigate",
      ],
      () => true,
    );
    expect([...approved]).toEqual(["m.send.to_device:org.example.ping"]);
  });

  it("asks about each grantable capability", async () => {
    const asked: string[] = [];
    const approved = await validateToDeviceCapabilities(
      ["m.send.to_device:a.b", "m.receive.to_device:a.b"],
      async (request) => {
        asked.push(request.description);
        return request.direction === "receive";
      },
    );
    expect(asked).toHaveLength(2);
    expect([...approved]).toEqual(["m.receive.to_device:a.b"]);
  });

  it("isGrantableToDeviceCapability", () => {
    expect(isGrantableToDeviceCapability("m.send.to_device:org.example.ping")).toBe(true);
    expect(isGrantableToDeviceCapability("m.send.to_device:m.secret.send")).toBe(false);
    expect(isGrantableToDeviceCapability("org.matrix.msc2931.navigate")).toBe(false);
  });
});

/**
 * For hosts that only implement `WidgetDriver.sendToDevice`: the driver's `forWidgetDriver`
 * behind a stock ClientWidgetApi (not attached). Real matrix-widget-api objects on both sides.
 */
import { describe, expect, it } from "vitest";
import { ToDeviceDeliveryError, toDeviceErrorDetails } from "../src/index.js";
import { WidgetFrame } from "./harness/widget-frame.js";
import { BOB, createWorld, PING, send, settle } from "./harness/world.js";

describe("forWidgetDriver", () => {
  it("sends with the same policy and turns failures into errors", async () => {
    const world = createWorld();
    const sendToDevice = world.driver.forWidgetDriver({
      roomId: "!r1:example.org",
      roomEncrypted: true,
      widgetType: "x",
    });
    await sendToDevice(PING, true, { [BOB]: { BOBDEV: { a: 1 } } });
    await settle();
    expect(world.bob.received[0]?.encryptionInfo).not.toBeNull();

    await expect(sendToDevice(PING, false, { [BOB]: { BOBDEV: {} } })).rejects.toThrow(
      /no downgrade/,
    );
    await expect(sendToDevice("m.room_key", true, { [BOB]: { BOBDEV: {} } })).rejects.toThrow(
      /reserved/,
    );
    const partial = await sendToDevice(PING, true, { [BOB]: { BOBDEV: {}, NOPE: {} } }).catch(
      (e: unknown) => e,
    );
    expect(partial).toBeInstanceOf(ToDeviceDeliveryError);
    expect((partial as ToDeviceDeliveryError).failures).toEqual({
      [BOB]: { NOPE: "unknown_device" },
    });
  });

  it("gives processError the matrix_api_error of an HTTP failure", async () => {
    const world = createWorld({ retry: { maxAttempts: 1 } });
    const sendToDevice = world.driver.forWidgetDriver({
      roomId: null,
      roomEncrypted: false,
      widgetType: "x",
    });
    world.homeserver.failNextSends({ kind: "http_error", status: 403, errcode: "M_FORBIDDEN" });
    const error = await sendToDevice(PING, true, { [BOB]: { BOBDEV: {} } }).catch(
      (e: unknown) => e,
    );
    expect(toDeviceErrorDetails(error)).toMatchObject({
      matrix_api_error: { http_status: 403, response: { errcode: "M_FORBIDDEN" } },
    });
    expect(toDeviceErrorDetails(new Error("other"))).toBeUndefined();
  });

  it("works behind a stock ClientWidgetApi", async () => {
    const world = createWorld();
    const frame = new WidgetFrame({ widgetId: "stock-host", capabilities: [send(PING)] });
    const method = world.driver.forWidgetDriver({
      roomId: "!r1:example.org",
      roomEncrypted: true,
      widgetType: "x",
    });
    // The stock host calls its WidgetDriver's sendToDevice.
    (
      frame.clientApi as unknown as { driver: { sendToDevice: typeof method } }
    ).driver.sendToDevice = method;
    await frame.load();
    try {
      await expect(
        frame.widgetApi.sendToDevice(PING, true, { [BOB]: { BOBDEV: { a: 1 } } }),
      ).resolves.toEqual({});
      await expect(
        frame.widgetApi.sendToDevice(PING, true, { [BOB]: { NOPE: {} } }),
      ).rejects.toThrow(/Error sending event/);
    } finally {
      frame.stop();
    }
  });
});

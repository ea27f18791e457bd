// Conformance case 16 and the widget's URL parameters. Pure functions, plus matrix-widget-api's
// real `Widget.getCompleteUrl` to render the URL as a stock host would; no fakes.
import { Widget } from "matrix-widget-api";
import { describe, expect, test } from "vitest";
import { DEVICE_ID_PARAMETERS, readDeviceId, readWidgetParameters } from "../src/index.js";

const BASE = "https://widget.example.org/app";

function rendered(template: string, deviceId: string | undefined): string {
  const widget = new Widget({
    id: "w1",
    creatorUserId: "@alice:example.org",
    type: "m.custom",
    url: template,
  });
  return widget.getCompleteUrl({
    currentUserId: "@alice:example.org",
    widgetRoomId: "!r1:example.org",
    ...(deviceId === undefined ? {} : { deviceId }),
  });
}

describe("the widget's own device ID (conformance case 16)", () => {
  test("read from the $org.matrix.msc3819.matrix_device_id template, as a stock host fills it", () => {
    const url = rendered(
      `${BASE}?org.matrix.msc3819.matrix_device_id=$org.matrix.msc3819.matrix_device_id`,
      "ALICEDEV",
    );
    expect(url).toContain("org.matrix.msc3819.matrix_device_id=ALICEDEV");
    expect(readWidgetParameters(url).deviceId).toBe("ALICEDEV");
  });

  test("read from each supported parameter name", () => {
    expect(DEVICE_ID_PARAMETERS).toEqual([
      "org.matrix.msc3819.matrix_device_id",
      "matrix_device_id",
      "deviceId",
    ]);
    for (const name of DEVICE_ID_PARAMETERS) {
      expect(readDeviceId(new URLSearchParams({ [name]: "DEV1" }))).toBe("DEV1");
    }
  });

  test("absent when the host did not fill the template in", () => {
    // A stock host substitutes an unknown device as "" and leaves unknown variables as they are.
    expect(
      readWidgetParameters(
        rendered(`${BASE}?deviceId=$org.matrix.msc3819.matrix_device_id`, undefined),
      ).deviceId,
    ).toBeUndefined();
    expect(
      readWidgetParameters(rendered(`${BASE}?matrix_device_id=$matrix_device_id`, "DEV")).deviceId,
    ).toBeUndefined();
    expect(readDeviceId(new URLSearchParams({ deviceId: "has space" }))).toBeUndefined();
  });

  test("the first filled-in parameter wins, in the documented order", () => {
    const parameters = new URLSearchParams({ deviceId: "THIRD", matrix_device_id: "SECOND" });
    expect(readDeviceId(parameters)).toBe("SECOND");
  });
});

describe("readWidgetParameters", () => {
  test("reads widgetId, parentUrl, userId and roomId the matrix-widget-api way", () => {
    const url = `${BASE}?widgetId=w1&parentUrl=${encodeURIComponent("https://client.example.org/#/room")}&userId=%40alice%3Aexample.org&roomId=%21r1%3Aexample.org&deviceId=ALICEDEV`;
    expect(readWidgetParameters(url)).toEqual({
      widgetId: "w1",
      parentUrl: "https://client.example.org/#/room",
      userId: "@alice:example.org",
      roomId: "!r1:example.org",
      deviceId: "ALICEDEV",
    });
  });

  test("reads the fragment too (Element Call style), the query string winning", () => {
    const url = `${BASE}?widgetId=w1#/room?widgetId=other&roomId=%21r2%3Aexample.org&deviceId=D2`;
    expect(readWidgetParameters(url)).toEqual({
      widgetId: "w1",
      roomId: "!r2:example.org",
      deviceId: "D2",
    });
  });

  test("reads the template variables' own names", () => {
    const url = rendered(
      `${BASE}?matrix_widget_id=$matrix_widget_id&matrix_user_id=$matrix_user_id&matrix_room_id=$matrix_room_id`,
      undefined,
    );
    expect(readWidgetParameters(url)).toEqual({
      widgetId: "w1",
      userId: "@alice:example.org",
      roomId: "!r1:example.org",
    });
  });

  test("a global widget has no room; an invalid user ID is ignored", () => {
    const url = rendered(`${BASE}?roomId=$matrix_room_id&userId=bob`, undefined).replace(
      "!r1%3Aexample.org",
      "",
    );
    expect(readWidgetParameters(url)).toEqual({});
  });
});

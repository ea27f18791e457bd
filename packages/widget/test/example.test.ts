// The README's example (examples/basic.ts), run as written: loaded from the page's own URL,
// against a stock matrix-widget-api host and against a host running @widget-todevice/driver.
// Like the example, this file uses the package by name (its build), as a widget author would.
// Real matrix-widget-api objects and postMessages (see harness.ts); the stock host's
// `WidgetDriver` is the recording stand-in, the driver host uses the driver's in-memory
// homeserver.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ToDeviceDriver } from "@widget-todevice/driver";
import { InMemoryHomeserver } from "@widget-todevice/driver/testing";
import { createToDeviceWidget, type ToDeviceWidget } from "@widget-todevice/widget";
import { afterEach, beforeEach, expect, test } from "vitest";
import { ping, startPingPong } from "../examples/basic.js";
import {
  ALICE,
  embedWidget,
  installStructuredClone,
  quietWidgetApiLogs,
  RecordingDriver,
  ROOM,
  until,
  widgetUrl,
} from "./harness.js";

const BOB = "@bob:example.org";
const cleanups: Array<() => void> = [];

interface HappyDomWindow {
  happyDOM: { setURL(url: string): void };
}

beforeEach(() => {
  quietWidgetApiLogs();
  cleanups.push(installStructuredClone());
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function started(widget: ToDeviceWidget): ToDeviceWidget {
  cleanups.push(() => {
    widget.close();
    widget.api.transport.stop();
  });
  return widget;
}

test("against a stock host: the pong goes out in the legacy map to all of Bob's devices, whatever sender_device the sender wrote", async () => {
  const url = widgetUrl();
  const origin = window.location.href;
  (window as unknown as HappyDomWindow).happyDOM.setURL(url);
  cleanups.push(() => (window as unknown as HappyDomWindow).happyDOM.setURL(origin));
  const driver = new RecordingDriver();
  const page = embedWidget(driver, url);
  cleanups.push(() => page.stop());
  const widget = started(startPingPong());
  page.load();
  expect(await widget.ready).toMatchObject({ format: "legacy" });

  // A stock host spreads the raw decrypted event: Bob wrote these two into the Olm plaintext.
  await page.host.feedToDevice(
    {
      type: "org.example.ping",
      sender: BOB,
      content: { seq: 1 },
      sender_device: "FORGED",
      sender_verified: true,
    } as never,
    true,
  );
  await until(() => driver.sent.length === 1, "the pong");
  expect(driver.sent[0]).toEqual({
    type: "org.example.pong",
    encrypted: true,
    messages: { [BOB]: { "*": { seq: 1 } } },
  });
});

test("against the driver: Bob's ping is answered to the device that sent it", async () => {
  const homeserver = new InMemoryHomeserver();
  const aliceDevice = homeserver.addDevice(ALICE, "ALICEDEV", { verified: true });
  const bobDevice = homeserver.addDevice(BOB, "BOBDEV", { verified: true });
  homeserver.addDevice(BOB, "BOBLAPTOP");

  // Alice's client runs the example widget, loaded from the page's URL.
  const aliceUrl = widgetUrl({ widgetId: "a1" });
  const origin = window.location.href;
  (window as unknown as HappyDomWindow).happyDOM.setURL(aliceUrl);
  cleanups.push(() => (window as unknown as HappyDomWindow).happyDOM.setURL(origin));
  const aliceDriver = new ToDeviceDriver({ transport: aliceDevice });
  const alicePage = embedWidget(new RecordingDriver(), aliceUrl, (host) => {
    aliceDriver.attach(host, { roomId: ROOM, roomEncrypted: true });
  });
  cleanups.push(() => {
    alicePage.stop();
    aliceDriver.dispose();
  });
  const alice = started(startPingPong());
  alicePage.load();
  expect(await alice.ready).toMatchObject({ format: "scoped" });

  // Bob's client pings Alice through its own driver.
  const bobUrl = widgetUrl({ widgetId: "b1", userId: BOB, deviceId: "BOBDEV" });
  const bobDriver = new ToDeviceDriver({ transport: bobDevice });
  const bobPage = embedWidget(new RecordingDriver(), bobUrl, (host) => {
    bobDriver.attach(host, { roomId: ROOM, roomEncrypted: true });
  });
  cleanups.push(() => {
    bobPage.stop();
    bobDriver.dispose();
  });
  const bob = started(createToDeviceWidget({ url: bobUrl, send: ["org.example.ping"] }));
  bobPage.load();
  await bob.ready;
  await ping(bob, ALICE, 2);

  await until(
    () => bobDevice.received.some((received) => received.message.type === "org.example.pong"),
    "the pong on Bob's device",
  );
  // Scoped both ways: both widgets sit in the room, in scoped mode.
  expect(bobDevice.received.map((received) => received.message.content)).toEqual([
    { seq: 2, scope: { room_id: ROOM, id: "m.custom" } },
  ]);
  // Answered to the sending device only, not to Bob's laptop.
  expect(homeserver.sendLog.at(-1)).toMatchObject({ messageCount: 1 });
});

for (const file of ["basic.ts"]) {
  test(`the README quotes examples/${file} as it is`, () => {
    const root = join(import.meta.dirname, "..");
    const example = readFileSync(join(root, "examples", file), "utf8")
      .split("\n")
      .slice(1)
      .join("\n")
      .trim();
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
  });
}

// Real objects end to end: the widget package on a real `WidgetApi`, hosts built on stock
// `ClientWidgetApi` with `@widget-todevice/driver` attached (its `ToDeviceDriver`), and the
// driver's `InMemoryHomeserver` / `InMemoryTransport` between Alice's and Bob's clients
// (simulated Olm, real routing). Real postMessages in happy-dom (see harness.ts). The only
// stand-in is the stock `WidgetDriver` that grants every requested capability.
import { ToDeviceDriver, type WidgetAttachment } from "@widget-todevice/driver";
import { InMemoryHomeserver, type InMemoryTransport } from "@widget-todevice/driver/testing";
import * as t from "io-ts";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  type ToDeviceReceiveError,
  ToDeviceSendError,
  type ToDeviceWidget,
  type ToDeviceWidgetOptions,
} from "../src/index.js";
import {
  ALICE,
  embedWidget,
  type HostWindow,
  installStructuredClone,
  quietWidgetApiLogs,
  RecordingDriver,
  ROOM,
  until,
  widgetUrl,
} from "./harness.js";

const BOB = "@bob:example.org";
const OTHER_ROOM = "!r2:example.org";
const PING = "org.example.ping";
const PingC = t.type({ n: t.number });

let homeserver: InMemoryHomeserver;
let aliceDevice: InMemoryTransport;
let bobDevice: InMemoryTransport;
const cleanups: Array<() => void> = [];
let restoreClone: () => void;

beforeEach(() => {
  quietWidgetApiLogs();
  restoreClone = installStructuredClone();
  homeserver = new InMemoryHomeserver();
  aliceDevice = homeserver.addDevice(ALICE, "ALICEDEV", { verified: true });
  bobDevice = homeserver.addDevice(BOB, "BOBDEV", { verified: true });
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  restoreClone();
});

interface Embedded {
  readonly widget: ToDeviceWidget;
  readonly attachment: WidgetAttachment;
  readonly page: HostWindow;
}

/** A client running the driver on `device`, with our widget embedded in `roomId`. */
async function embed(
  device: InMemoryTransport,
  widgetId: string,
  roomId: string | null,
  options: ToDeviceWidgetOptions,
): Promise<Embedded> {
  const driver = new ToDeviceDriver({ transport: device });
  const url = widgetUrl({
    widgetId,
    userId: device.userId,
    deviceId: device.deviceId,
    roomId: roomId ?? "",
  });
  let attachment: WidgetAttachment | undefined;
  const page = embedWidget(new RecordingDriver(), url, (host) => {
    attachment = driver.attach(host, { roomId, roomEncrypted: true });
  });
  const widget = createToDeviceWidget({ url, onError: () => {}, ...options });
  cleanups.push(() => {
    widget.close();
    widget.api.transport.stop();
    page.stop();
    driver.dispose();
  });
  page.load();
  await widget.ready;
  if (attachment === undefined) throw new Error("not attached");
  await attachment.negotiated;
  return { widget, attachment, page };
}

function contents(device: InMemoryTransport): unknown[] {
  return device.received.map((received) => received.message.content);
}

describe("negotiation with a driver host", () => {
  test("the newest format is chosen and the room makes it scoped mode", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    expect(alice.widget.negotiation).toMatchObject({
      format: "scoped",
      hostFormats: ["legacy", "recipients", "scoped"],
      scoped: true,
      granted: { send: [PING], receive: [] },
    });
    // The driver learned what the widget advertises.
    expect(alice.attachment.formats).toEqual(["legacy", "recipients", "scoped"]);
    expect(alice.widget.deviceId).toBe("ALICEDEV");
  });

  test("a widget advertising legacy only is treated as legacy", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING], formats: ["legacy"] });
    expect(alice.widget.negotiation?.format).toBe("legacy");
    expect(alice.attachment.formats).toEqual(["legacy"]);
  });
});

describe("sending through the driver", () => {
  test("an unscoped send goes out once in the recipients format and reaches every device", async () => {
    homeserver.addDevice(BOB, "BOBLAPTOP");
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    const post = vi.spyOn(alice.widget.api.transport, "sendComplete");
    const receipt = await alice.widget.send(PING, { [BOB]: "*" }, { n: 1 });
    expect(receipt).toEqual({ format: "recipients", failures: {} });
    expect(post).toHaveBeenCalledWith("send_to_device", {
      type: PING,
      recipient_devices: { [BOB]: ["*"] },
      content: { n: 1 },
    });
    await until(() => contents(bobDevice).length === 1, "Bob's message");
    expect(contents(bobDevice)).toEqual([{ n: 1 }]);
    expect(bobDevice.received[0]?.encryptionInfo).toMatchObject({ senderDevice: "ALICEDEV" });
  });

  test("a legacy-only widget sends the legacy map and it arrives", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING], formats: ["legacy"] });
    const receipt = await alice.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 2 });
    expect(receipt.format).toBe("legacy");
    await until(() => contents(bobDevice).length === 1, "Bob's message");
    expect(contents(bobDevice)).toEqual([{ n: 2 }]);
  });

  test("a scoped send is stamped with the widget's room by the driver", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    const receipt = await alice.widget.send(
      PING,
      { [BOB]: ["BOBDEV"] },
      { n: 3 },
      { scope: { id: "org.example.app" } },
    );
    expect(receipt.format).toBe("scoped");
    await until(() => contents(bobDevice).length === 1, "Bob's message");
    expect(contents(bobDevice)).toEqual([
      { n: 3, scope: { room_id: ROOM, id: "org.example.app" } },
    ]);
  });

  test("devices the driver could not reach reject the send, or resolve with acceptPartial", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    const error = await alice.widget
      .send(PING, { [BOB]: ["BOBDEV", "NOPE"] }, { n: 4 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToDeviceSendError);
    expect(error).toMatchObject({
      reason: "partial_failure",
      failures: { [BOB]: { NOPE: "unknown_device" } },
    });
    const receipt = await alice.widget.send(
      PING,
      { [BOB]: ["BOBDEV", "NOPE"] },
      { n: 5 },
      { acceptPartial: true },
    );
    expect(receipt.failures).toEqual({ [BOB]: { NOPE: "unknown_device" } });
    await until(() => contents(bobDevice).length === 2, "Bob's messages");
    expect(contents(bobDevice)).toEqual([{ n: 4 }, { n: 5 }]);
  });

  test("the driver's refusal carries its message", async () => {
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    const error = await alice.widget
      .send(PING, { [BOB]: ["BOBDEV"] }, { n: 6 }, { encrypted: false })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ToDeviceSendError", reason: "host_refused" });
    expect((error as ToDeviceSendError).hostMessage).toMatch(/encrypt/i);
    // A barrier by the same path: once it is in, a refused message would have been too.
    await alice.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 60 });
    await until(() => contents(bobDevice).length > 0, "the barrier");
    expect(contents(bobDevice)).toEqual([{ n: 60 }]);
  });
});

describe("receiving through the driver", () => {
  async function bobWidget(widgetId: string, roomId: string) {
    const embedded = await embed(bobDevice, widgetId, roomId, { receive: [PING] });
    const got: ReceivedToDeviceMessage<{ n: number }>[] = [];
    const errors: ToDeviceReceiveError[] = [];
    embedded.widget.subscribe(
      PING,
      (message) => {
        got.push(message);
      },
      { content: PingC, onError: (error) => errors.push(error) },
    );
    return { ...embedded, got, errors };
  }

  test("an encrypted message arrives with the authenticated sender device and trust", async () => {
    const bob = await bobWidget("b1", ROOM);
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    await alice.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 7 }, { scope: {} });
    await until(() => bob.got.length === 1, "Bob's widget's message");
    expect(bob.got[0]).toEqual({
      type: PING,
      sender: ALICE,
      encrypted: true,
      content: { n: 7, scope: { room_id: ROOM, id: "m.custom" } },
      sender_device: "ALICEDEV",
      sender_verified: true,
      scope: { room_id: ROOM, id: "m.custom" },
    });
  });

  test("scoped mode: a widget in another room does not receive it", async () => {
    const inRoom = await bobWidget("b1", ROOM);
    const elsewhere = await bobWidget("b2", OTHER_ROOM);
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    await alice.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 8 }, { scope: {} });
    await until(() => inRoom.got.length === 1, "the message in the room");
    // A barrier from the same device to the same device, scoped to the other room: it arrives
    // after the first, so once it is in, the first would have been too.
    const aliceElsewhere = await embed(aliceDevice, "a2", OTHER_ROOM, { send: [PING] });
    await aliceElsewhere.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 80 }, { scope: {} });
    await until(() => elsewhere.got.length > 0, "the barrier in the other room");
    expect(elsewhere.got.map((m) => m.content.n)).toEqual([80]);
    expect(inRoom.got.map((m) => m.content.n)).toEqual([8]);
  });

  test("content that fails the codec is reported, and the driver's delivery still succeeds", async () => {
    const bob = await bobWidget("b1", ROOM);
    const alice = await embed(aliceDevice, "a1", ROOM, { send: [PING] });
    await alice.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: "nine" }, { scope: {} });
    await until(() => bob.errors.length === 1, "the error");
    expect(bob.got).toEqual([]);
    expect(bob.errors[0]).toMatchObject({ reason: "invalid_content", sender: ALICE });
    expect(bob.attachment.stats).toMatchObject({ delivered: 1 });
  });
});

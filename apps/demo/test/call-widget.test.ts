import type { Frame, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendFromDemoWidget, waitForMessage, widgetFrame } from "./browser.js";
import { useDemoPages, useHomeserver } from "./page-fixture.js";

// The Element Call-style widget (call-widget.html): matrix-js-sdk's embedded client and MatrixRTC's
// to-device key transport, in every client of the page, exchanging call keys through the driver,
// in embedded mode and on Synapse with real Olm.

const CALL_KEYS = "io.element.call.encryption_keys";

interface Device {
  readonly user: string;
  readonly device: string;
}

const pages = useDemoPages();

/** The clients of the page, in column order. */
async function clientsOf(page: Page): Promise<Device[]> {
  return page.locator("[data-testid=client]").evaluateAll((sections) =>
    sections.map((s) => ({
      user: (s as HTMLElement).dataset.user as string,
      device: (s as HTMLElement).dataset.device as string,
    })),
  );
}

/** Clicks "Join call" in the first room (the Lobby) of `device`'s client. */
async function joinCall(page: Page, device: string): Promise<void> {
  await page
    .locator(`[data-testid=client][data-device="${device}"] .room`)
    .first()
    .locator("[data-testid=join-call]")
    .click();
}

async function callFrame(page: Page, device: string, name = "Call widget"): Promise<Frame> {
  const frame = await widgetFrame(page, device, { name });
  await frame.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  return frame;
}

async function ownKey(frame: Frame): Promise<{ index: string; key: string }> {
  const own = frame.locator("#own-key");
  return {
    index: (await own.getAttribute("data-index")) ?? "",
    key: (await own.getAttribute("data-key")) ?? "",
  };
}

/** The participant row for `of` in `frame`, once it shows `key` as received. */
async function waitForKey(frame: Frame, of: Device, key: string) {
  const row = frame.locator(
    `[data-testid=participant][data-user="${of.user}"][data-device="${of.device}"][data-received-key="${key}"]`,
  );
  await row.waitFor({ timeout: 20_000 });
  return row.evaluate((tr) => ({ ...(tr as HTMLElement).dataset }));
}

/**
 * Every participant's widget shows every other's current key, received encrypted, from the
 * device the host decrypted it from; and each sent its key to every other.
 */
async function expectEveryoneHasEveryKey(frames: ReadonlyMap<Device, Frame>): Promise<void> {
  const keys = new Map<Device, { index: string; key: string }>();
  for (const [who, frame] of frames) keys.set(who, await ownKey(frame));
  for (const [who, frame] of frames) {
    for (const [other, key] of keys) {
      if (other === who) continue;
      const row = await waitForKey(frame, other, key.key);
      expect(row).toMatchObject({
        receivedIndex: key.index,
        encrypted: "true",
        // Vouched for by the driver from the decryption, and the same as the key's claim.
        senderDevice: other.device,
        claimedDevice: other.device,
        sentIndex: (await ownKey(frame)).index,
      });
    }
  }
}

/** Inspector entries whose title starts with `title`. */
function inspectorEntries(page: Page, title: string, direction?: string) {
  const where = direction === undefined ? "" : `[data-direction="${direction}"]`;
  return page.locator(`[data-testid=inspector] li[data-title^="${title}"]${where}`);
}

/** The JSON of the first call-widget entry with `title` and `direction`, opened. */
async function firstCallWidgetJson(page: Page, title: string, direction: string) {
  const entry = inspectorEntries(page, title, direction).filter({ hasText: "Call widget" }).first();
  await entry.locator("summary").click();
  return JSON.parse((await entry.locator("pre").textContent()) ?? "{}") as {
    data?: Record<string, unknown>;
  };
}

async function expectKeyTrafficInInspector(page: Page, devices: ReadonlyArray<Device>) {
  // A widget's request: the key transport's legacy map, asking for encryption.
  const sent = await firstCallWidgetJson(page, "send_to_device request", "widget → host");
  expect(sent.data).toMatchObject({ type: CALL_KEYS, encrypted: true });
  // A delivery to a widget: with the sender's device as the driver decrypted it (§7).
  const delivered = await firstCallWidgetJson(page, "send_to_device request", "host → widget");
  expect(delivered.data).toMatchObject({
    type: CALL_KEYS,
    encrypted: true,
    sender_device: expect.any(String),
  });
  // Each client's driver routed a key from each of the others to its call widget.
  for (const [r, receiver] of devices.entries()) {
    for (const sender of devices) {
      if (sender === receiver) continue;
      const notes = await inspectorEntries(
        page,
        `${CALL_KEYS} from ${sender.user} / ${sender.device} (decrypted)`,
        "homeserver → host",
      )
        .filter({ hasText: CLIENT_LABELS[r] ?? "" })
        .evaluateAll((items) => items.map((item) => item.querySelector(".note")?.textContent));
      expect(notes, `${sender.device} -> ${receiver.device}`).toContainEqual(
        expect.stringMatching(/Call widget: delivered/),
      );
    }
  }
}

/** The clients' column headings, in column order (the inspector names clients by them). */
const CLIENT_LABELS = ["Alice · laptop", "Alice · phone", "Bob · desktop"];

async function rotateAndExpect(
  frames: ReadonlyMap<Device, Frame>,
  rotating: Device,
): Promise<string> {
  const frame = frames.get(rotating) as Frame;
  const before = await ownKey(frame);
  await frame.getByRole("button", { name: "Rotate key" }).click();
  await frame.locator(`#own-key[data-index="${Number(before.index) + 1}"]`).waitFor();
  const after = await ownKey(frame);
  expect(after.key).not.toBe(before.key);
  for (const [who, other] of frames) {
    if (who === rotating) continue;
    expect(await waitForKey(other, rotating, after.key)).toMatchObject({
      receivedIndex: after.index,
      senderDevice: rotating.device,
    });
  }
  return after.key;
}

describe("the call widget in embedded mode (driver's in-memory homeserver)", () => {
  it("three participants joined from the Join call buttons exchange keys, rotate one, and the inspector shows the traffic", async () => {
    const page = await pages.open();
    const devices = await clientsOf(page);
    expect(devices.map((d) => d.device)).toEqual(["ALICELAPTOP", "ALICEPHONE", "BOBDESKTOP"]);
    // One after the other: a late joiner's key makes the others send theirs to it.
    const frames = new Map<Device, Frame>();
    for (const device of devices) {
      await joinCall(page, device.device);
      frames.set(device, await callFrame(page, device.device));
    }
    for (const frame of frames.values()) {
      expect(await frame.locator("#status").textContent()).toContain("the host vouches");
    }

    await expectEveryoneHasEveryKey(frames);
    await rotateAndExpect(frames, devices[2] as Device);
    await expectKeyTrafficInInspector(page, devices);
    await page.close();
  });

  it("shows a key from a device outside the call and never sends that device its own", async () => {
    const page = await pages.open();
    const [laptop, , bob] = (await clientsOf(page)) as [Device, Device, Device];
    // A call widget loaded by URL into Alice's laptop only: no `$call_members`, so nobody is a
    // member of its call.
    const widgetOrigin = pages.demo.url.replace("127.0.0.1", "localhost");
    const loader = page.locator("[data-testid=widget-loader]");
    await loader
      .locator("input[name=url]")
      .fill(
        `${widgetOrigin}call-widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$org.matrix.msc3819.matrix_device_id`,
      );
    await loader.locator("select[name=client]").selectOption({ label: "into Alice · laptop" });
    await loader.getByRole("button", { name: "Load widget" }).click();
    const prompt = page.locator(
      `[data-testid=client][data-device="${laptop.device}"] [data-testid=capability-prompt]`,
    );
    await prompt.getByRole("button", { name: "Allow selected" }).click();
    const outsider = await callFrame(page, laptop.device, "Widget from");

    // Bob joins; his call's members include Alice's laptop, so he sends it his key.
    await joinCall(page, bob.device);
    const bobCall = await callFrame(page, bob.device);
    const bobKey = (await ownKey(bobCall)).key;
    expect(await waitForKey(outsider, bob, bobKey)).toMatchObject({
      member: "false",
      senderDevice: bob.device,
      sentCount: "0",
    });

    // Barrier: a message from the laptop's demo widget reaches Bob after anything the call
    // widget would have sent on receiving Bob's key, and comes through the inspector after it.
    const laptopDemo = await widgetFrame(page, laptop.device, { name: "Demo widget" });
    const bobDemo = await widgetFrame(page, bob.device, { name: "Demo widget" });
    await sendFromDemoWidget(laptopDemo, { recipients: [[bob.user, bob.device]], text: "barrier" });
    await waitForMessage(bobDemo, "barrier");
    const fromWidgets = inspectorEntries(page, "send_to_device request", "widget → host");
    await fromWidgets.filter({ hasText: "Demo widget" }).last().waitFor();

    expect(await fromWidgets.filter({ hasText: "Widget from" }).count()).toBe(0);
    const laptopRow = bobCall.locator(
      `[data-testid=participant][data-user="${laptop.user}"][data-device="${laptop.device}"]`,
    );
    expect(await laptopRow.getAttribute("data-received-count")).toBe("0");
    await page.close();
  });
});

describe("the call widget on Synapse (RoomWidgetClient, real Olm)", () => {
  const synapse = useHomeserver();
  let page: Page;
  let devices: Device[];

  beforeAll(async () => {
    // `?call`: every client joins the call in its Lobby as soon as the page is up.
    page = await pages.openOnHomeserver(synapse.homeserver, "&call");
    devices = await clientsOf(page);
  });

  afterAll(async () => {
    await page?.close();
  });

  it("three participants exchange keys as Olm-encrypted to-device messages through Synapse", async () => {
    const frames = new Map<Device, Frame>();
    for (const device of devices) frames.set(device, await callFrame(page, device.device));
    expect(new Set(devices.map((d) => d.user)).size).toBe(2);

    await expectEveryoneHasEveryKey(frames);
    await expectKeyTrafficInInspector(page, devices);
    // Through the homeserver, encrypted by the driver's matrix-js-sdk transport.
    const put = inspectorEntries(page, "PUT /_matrix/client/v3/sendToDevice/m.room.encrypted/");
    expect(await put.count()).toBeGreaterThanOrEqual(devices.length);
  });

  it("a rotated key reaches the other participants", async () => {
    const frames = new Map<Device, Frame>();
    for (const device of devices) frames.set(device, await callFrame(page, device.device));
    await rotateAndExpect(frames, devices[0] as Device);
  });
});

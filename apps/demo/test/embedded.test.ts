import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  receivedIn,
  sendFromDemoWidget,
  waitForMessage,
  widgetFrame,
  widgetReady,
} from "./browser.js";
import { useDemoPages } from "./page-fixture.js";

// Embedded mode, as `pnpm demo` serves it: three simulated clients in one page, connected by the
// driver's in-memory homeserver.

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const CAROL = "@carol:example.org";
const LOBBY = "!lobby:example.org";
const SIDE = "!side:example.org";

const pages = useDemoPages();
const openDemo = pages.open;

/** Answers the capability prompt in the widget card at `index` of `device`'s client. */
async function allowPrompt(page: Page, device: string): Promise<void> {
  const prompt = page
    .locator(`[data-testid=client][data-device="${device}"] [data-testid=capability-prompt]`)
    .first();
  await prompt.waitFor();
  await prompt.getByRole("button", { name: "Allow selected" }).click();
}

describe("embedded mode", () => {
  it("delivers a message from Alice's widget to Bob's with the driver's facts, scoped to the room", async () => {
    const page = await openDemo();
    const alice = await widgetFrame(page, "ALICELAPTOP");
    const bobLobby = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    await widgetReady(bobLobby);

    const result = await sendFromDemoWidget(alice, {
      recipients: [[BOB, "BOBDESKTOP"]],
      format: "scoped",
      text: "hello bob",
    });
    expect(result).toMatchObject({ kind: "ok" });
    expect(result.text).toContain("Sent as scoped");

    const received = await waitForMessage(bobLobby, "hello bob");
    expect(received).toEqual({
      text: "hello bob",
      sender: ALICE,
      senderDevice: "ALICELAPTOP",
      encrypted: "true",
      verified: "true",
      scopeRoom: LOBBY,
    });

    // The inspector shows the request, its size against the legacy form, and the HTTP request.
    const inspector = page.locator("[data-testid=inspector]");
    await expect
      .poll(() =>
        inspector
          .locator("li[data-title^='PUT /_matrix/client/v3/sendToDevice/m.room.encrypted']")
          .count(),
      )
      .toBeGreaterThan(0);
    const request = inspector
      .locator("li[data-title='send_to_device request'][data-direction='widget → host']")
      .first();
    await request.locator("summary").click();
    await expect
      .poll(() => request.locator(".note").textContent())
      .toMatch(/^scoped: \d+ B for 1 device/);
    await expect.poll(() => request.locator("pre").textContent()).toContain('"recipient_devices"');

    // The sender's own widgets got nothing: it addressed Bob's device only. Barrier: a message
    // from the same device to Alice's phone, sent after it, reaches the phone after it would have.
    const alicePhone = await widgetFrame(page, "ALICEPHONE");
    await widgetReady(alicePhone);
    await sendFromDemoWidget(alice, { recipients: [[ALICE, "ALICEPHONE"]], text: "barrier" });
    await waitForMessage(alicePhone, "barrier");
    expect((await receivedIn(alicePhone)).map((m) => m.text)).toEqual(["barrier"]);
    await page.close();
  });

  it("takes every widget out, and ends every client, when the page goes away", async () => {
    const page = await openDemo();
    await widgetReady(await widgetFrame(page, "ALICELAPTOP"));
    const cards = page.locator("[data-testid=widget-card]");
    expect(await cards.count()).toBeGreaterThan(0);
    // The event the page gets on leaving, dispatched here so the page stays to be looked at.
    await page.evaluate(() =>
      dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })),
    );
    // Each widget removed as its × does it: driver detached, widget API and frame guard stopped.
    expect(await cards.count()).toBe(0);
    expect(await page.locator("body[data-ready=true]").count()).toBe(0);
    await page.close();
  });

  it("sends to * and reaches both of Alice's devices", async () => {
    const page = await openDemo();
    const bob = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    const result = await sendFromDemoWidget(bob, {
      recipients: [[ALICE, "*"]],
      format: "scoped",
      text: "to all of alice",
    });
    expect(result.kind).toBe("ok");
    for (const device of ["ALICELAPTOP", "ALICEPHONE"]) {
      const message = await waitForMessage(await widgetFrame(page, device), "to all of alice");
      expect(message).toMatchObject({ sender: BOB, senderDevice: "BOBDESKTOP", encrypted: "true" });
    }
    await page.close();
  });

  it("does not deliver a scoped message to a widget in another room, and says why", async () => {
    const page = await openDemo();
    await allowPrompt(page, "BOBDESKTOP");
    const bobSide = await widgetFrame(page, "BOBDESKTOP", { room: SIDE });
    await widgetReady(bobSide);
    const bobLobby = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    const alice = await widgetFrame(page, "ALICELAPTOP");

    await sendFromDemoWidget(alice, {
      recipients: [[BOB, "*"]],
      format: "scoped",
      text: "lobby only",
    });
    await waitForMessage(bobLobby, "lobby only");
    const routing = page.locator("[data-testid=inspector] li.wire-routing", {
      hasText: "Side room",
    });
    await routing.first().locator("summary").click();
    await expect
      .poll(() => routing.first().locator(".note").textContent())
      .toMatch(/Side room · Demo widget.*: dropped \(other_room/);
    expect(await receivedIn(bobSide)).toEqual([]);
    await page.close();
  });

  it("refuses a reserved type in the capability prompt, with the reason", async () => {
    const page = await openDemo();
    const card = page.locator(`[data-testid=widget-card][data-room="${SIDE}"]`);
    const prompt = card.locator("[data-testid=capability-prompt]");
    await prompt.waitFor();
    // The honest, account-wide words from the driver for what may be granted...
    await expect
      .poll(() => prompt.locator("li.grantable").allTextContents())
      .toEqual([
        expect.stringContaining(
          "Send org.example.demo.message messages to any of your contacts' devices (from your account, not only in this room)",
        ),
        expect.stringContaining(
          "Receive org.example.demo.message messages sent to this device by anyone",
        ),
      ]);
    // ...and the reserved type refused, with no checkbox to grant it.
    const refused = prompt.locator("[data-testid=refused-capability]");
    expect(await refused.locator(".description").textContent()).toBe(
      "Refused: m.room_key is reserved for your client's own encryption keys and device verification; no widget may send or receive it",
    );
    expect(await refused.locator(":scope > code").textContent()).toBe(
      "org.matrix.msc3819.receive.to_device:m.room_key",
    );
    expect(await refused.locator("input").count()).toBe(0);
    await prompt.getByRole("button", { name: "Allow selected" }).click();

    // Granted: the two demo capabilities; refused: m.room_key.
    const permissions = card.locator(".permissions li");
    await expect.poll(() => permissions.count()).toBe(3);
    expect(await card.locator(".permissions li.refused").textContent()).toContain("m.room_key");
    expect(await card.locator(".permissions li.granted").count()).toBe(2);
    await widgetReady(await widgetFrame(page, "BOBDESKTOP", { room: SIDE }));
    // What the host told the widget it may do: nothing about m.room_key.
    const notify = page
      .locator("[data-testid=inspector] li[data-title='notify_capabilities request']")
      .filter({ hasText: "Side room" });
    await notify.first().locator("summary").click();
    const json = JSON.parse((await notify.first().locator("pre").textContent()) ?? "{}");
    expect(json.data.approved).toEqual([
      "org.matrix.msc3819.send.to_device:org.example.demo.message",
      "org.matrix.msc3819.receive.to_device:org.example.demo.message",
    ]);
    expect(json.data.requested).toContain("org.matrix.msc3819.receive.to_device:m.room_key");
    await page.close();
  });

  it("reports failures per device when a send partly fails, and refusals", async () => {
    const page = await openDemo();
    const alice = await widgetFrame(page, "ALICELAPTOP");
    const partial = await sendFromDemoWidget(alice, {
      recipients: [
        [BOB, "BOBDESKTOP"],
        [CAROL, "*"],
      ],
      other: "@bob:example.org NOPE",
      format: "recipients",
      text: "some will fail",
    });
    expect(partial.kind).toBe("partial");
    const rows = await alice
      .locator(".failures tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
      );
    expect(rows).toEqual(
      expect.arrayContaining([
        [BOB, "NOPE", "unknown_device"],
        [CAROL, "CAROLOLD", "no_olm_session"],
      ]),
    );

    // Cleartext asked for in an encrypted room: the driver refuses, never downgrades.
    const refused = await sendFromDemoWidget(alice, {
      recipients: [[BOB, "BOBDESKTOP"]],
      format: "recipients",
      encryption: "cleartext",
      text: "in clear",
    });
    expect(refused.kind).toBe("error");
    expect(refused.text).toMatch(/host_refused: .*encrypted/);
    await page.close();
  });

  it("shows why the recipients format is smaller than legacy", async () => {
    const page = await openDemo();
    const alice = await widgetFrame(page, "ALICELAPTOP");
    const recipients = [
      [ALICE, "ALICEPHONE"],
      [BOB, "BOBDESKTOP"],
      [CAROL, "CAROLOLD"],
    ] as const;
    await sendFromDemoWidget(alice, {
      recipients,
      format: "legacy",
      encryption: "encrypted",
      text: "x".repeat(200),
    });
    await sendFromDemoWidget(alice, {
      recipients,
      format: "recipients",
      encryption: "encrypted",
      text: "x".repeat(200),
    });
    const requests = page.locator(
      "[data-testid=inspector] li[data-title='send_to_device request'][data-direction='widget → host']",
    );
    await expect.poll(() => requests.count()).toBe(2);
    const [legacy, ours] = await requests.evaluateAll((items) =>
      items.map((item) => Number((item as HTMLElement).dataset.bytes)),
    );
    // Legacy repeats the 200-character content per device; recipients carries it once.
    expect((legacy as number) - (ours as number)).toBeGreaterThanOrEqual(2 * 200);
    const note = requests.nth(1).locator(".note");
    await requests.nth(1).locator("summary").click();
    expect(await note.textContent()).toMatch(
      /^recipients: \d+ B for 3 devices; the same delivery in the legacy format: \d+ B/,
    );
    await page.close();
  });

  it("loads a widget by URL from another origin, which sends and receives", async () => {
    const byo = `${pages.otherOrigin.url}widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$matrix_device_id&peers=$peers`;
    const page = await openDemo(`?widget=${encodeURIComponent(byo)}`);
    for (const device of ["ALICELAPTOP", "ALICEPHONE", "BOBDESKTOP"]) {
      const prompt = page
        .locator(`[data-testid=client][data-device="${device}"] [data-testid=widget-card]`)
        .filter({ hasText: "Widget from" })
        .locator("[data-testid=capability-prompt]");
      await prompt.getByRole("button", { name: "Allow selected" }).click();
    }
    const aliceGuest = await widgetFrame(page, "ALICELAPTOP", { name: "Widget from" });
    const bobGuest = await widgetFrame(page, "BOBDESKTOP", { name: "Widget from" });
    // The template was filled in: the guest knows its user, room and device.
    expect(await aliceGuest.locator("#who").textContent()).toBe(`${ALICE} · ALICELAPTOP`);
    expect(new URL(aliceGuest.url()).origin).toBe(new URL(pages.otherOrigin.url).origin);

    const sent = await sendFromDemoWidget(aliceGuest, {
      recipients: [[BOB, "*"]],
      text: "from a guest",
    });
    expect(sent.kind).toBe("ok");
    expect(await waitForMessage(bobGuest, "from a guest")).toMatchObject({
      sender: ALICE,
      senderDevice: "ALICELAPTOP",
      scopeRoom: LOBBY,
    });
    await sendFromDemoWidget(bobGuest, {
      recipients: [[ALICE, "ALICELAPTOP"]],
      text: "guest reply",
    });
    expect(await waitForMessage(aliceGuest, "guest reply")).toMatchObject({ sender: BOB });
    await page.close();
  });

  it("hosts a plain matrix-widget-api widget (legacy format) beside the demo widget", async () => {
    const page = await openDemo();
    const loader = page.locator("[data-testid=widget-loader]");
    const stockUrl = `${pages.otherOrigin.url}stock-widget.html?userId=$matrix_user_id&deviceId=$matrix_device_id`;
    await loader.locator("input[name=url]").fill(stockUrl);
    await loader.locator("select").selectOption({ label: "into Alice · phone" });
    await loader.getByRole("button", { name: "Load widget" }).click();
    await allowPrompt(page, "ALICEPHONE");
    const stock = await widgetFrame(page, "ALICEPHONE", { name: "Widget from" });
    await stock.waitForSelector("body[data-ready=true]");

    // A stock widget is not in scoped mode: it gets the scoped message too.
    const bob = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    await sendFromDemoWidget(bob, {
      recipients: [[ALICE, "ALICEPHONE"]],
      text: "to a stock widget",
    });
    await stock.locator("[data-testid=received][data-text='to a stock widget']").waitFor();

    // It sends legacy; Bob's demo widget leaves scoped mode to accept unscoped messages.
    const bobCard = page.locator(
      `[data-testid=client][data-device=BOBDESKTOP] [data-testid=widget-card][data-room="${LOBBY}"]`,
    );
    await bobCard.locator(".scoped-toggle input").uncheck();
    const bobUnscoped = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    await widgetReady(bobUnscoped);
    expect(await bobUnscoped.locator("#status").getAttribute("data-scoped")).toBe("false");
    await stock.locator("#to").fill(BOB);
    await stock.locator("#device").fill("BOBDESKTOP");
    await stock.locator("#text").fill("legacy hello");
    await stock.locator("#send").click();
    await expect.poll(() => stock.locator("#result").textContent()).toBe("sent: {}");
    expect(await waitForMessage(bobUnscoped, "legacy hello")).toMatchObject({
      sender: ALICE,
      senderDevice: "ALICEPHONE",
      encrypted: "true",
      verified: "false",
      scopeRoom: "",
    });
    await page.close();
  });
});

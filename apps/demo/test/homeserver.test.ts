import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  receivedIn,
  sendFromDemoWidget,
  waitForMessage,
  widgetFrame,
  widgetReady,
} from "./browser.js";
import { useDemoPages, useHomeserver } from "./page-fixture.js";

// Homeserver mode on the project's Synapse: three matrix-js-sdk clients with Rust crypto in one
// page, real accounts, a shared encrypted room, real Olm to-device messages. One page for the
// whole file: each load registers new accounts and logs new devices in.

const pages = useDemoPages();
const synapse = useHomeserver();
let page: Page;
/** Device IDs and user IDs as the page registered them: laptop, phone (Alice), desktop (Bob). */
let alice: string;
let bob: string;
let laptop: string;
let phone: string;
let desktop: string;
let lobby: string;
let side: string;

beforeAll(async () => {
  const guest = `${pages.otherOrigin.url}widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$org.matrix.msc3819.matrix_device_id&peers=$peers`;
  const started = performance.now();
  page = await pages.openOnHomeserver(synapse.homeserver, `&widget=${encodeURIComponent(guest)}`);
  console.log(`homeserver mode ready after ${Math.round(performance.now() - started)} ms`);
  const clients = await page
    .locator("[data-testid=client]")
    .evaluateAll((sections) =>
      sections.map((s) => [(s as HTMLElement).dataset.user, (s as HTMLElement).dataset.device]),
    );
  const [first, second, third] = clients as [[string, string], [string, string], [string, string]];
  [alice, laptop] = first;
  phone = second[1];
  [bob, desktop] = third;
  const rooms = await page
    .locator("[data-testid=client]")
    .last()
    .locator(".room")
    .evaluateAll((blocks) => blocks.map((b) => (b as HTMLElement).dataset.roomId as string));
  [lobby, side] = rooms as [string, string];
});

describe("homeserver mode (Synapse, matrix-js-sdk, Rust crypto)", () => {
  it("registered real accounts and a shared encrypted room", () => {
    expect(alice).toMatch(/^@alice-[a-z0-9]+:/);
    expect(bob).toMatch(/^@bob-[a-z0-9]+:/);
    expect(new Set([laptop, phone, desktop]).size).toBe(3);
    expect(lobby).toMatch(/^!/);
    expect(side).toMatch(/^!/);
  });

  it("delivers an Olm-encrypted message from Alice's widget to Bob's with the driver's facts", async () => {
    const aliceWidget = await widgetFrame(page, laptop, { name: "Demo widget" });
    const bobLobby = await widgetFrame(page, desktop, { room: lobby, name: "Demo widget" });
    await widgetReady(bobLobby);
    const sent = performance.now();
    const result = await sendFromDemoWidget(aliceWidget, {
      recipients: [[bob, desktop]],
      format: "scoped",
      text: "olm hello",
    });
    expect(result.kind).toBe("ok");
    expect(await waitForMessage(bobLobby, "olm hello")).toEqual({
      text: "olm hello",
      sender: alice,
      senderDevice: laptop,
      encrypted: "true",
      // Nobody cross-signed anything on these fresh accounts.
      verified: "false",
      scopeRoom: lobby,
    });
    console.log(`send to receipt in Bob's widget: ${Math.round(performance.now() - sent)} ms`);
    // It went through Synapse as m.room.encrypted.
    const put = page.locator(
      "[data-testid=inspector] li[data-title^='PUT /_matrix/client/v3/sendToDevice/m.room.encrypted']",
    );
    expect(await put.count()).toBeGreaterThan(0);
  });

  it("expands * to both of Alice's devices", async () => {
    const bobLobby = await widgetFrame(page, desktop, { room: lobby, name: "Demo widget" });
    const result = await sendFromDemoWidget(bobLobby, {
      recipients: [[alice, "*"]],
      format: "scoped",
      text: "olm to all of alice",
    });
    expect(result.kind).toBe("ok");
    for (const device of [laptop, phone]) {
      const frame = await widgetFrame(page, device, { name: "Demo widget" });
      expect(await waitForMessage(frame, "olm to all of alice")).toMatchObject({
        sender: bob,
        senderDevice: desktop,
        encrypted: "true",
      });
    }
  });

  it("refuses the reserved type in the prompt and keeps a scoped message out of another room", async () => {
    const card = page.locator(`[data-testid=widget-card][data-room="${side}"]`);
    const prompt = card.locator("[data-testid=capability-prompt]");
    expect(await prompt.locator("[data-testid=refused-capability] > code").textContent()).toBe(
      "org.matrix.msc3819.receive.to_device:m.room_key",
    );
    await prompt.getByRole("button", { name: "Allow selected" }).click();
    const bobSide = await widgetFrame(page, desktop, { room: side });
    await widgetReady(bobSide);
    const bobLobby = await widgetFrame(page, desktop, { room: lobby, name: "Demo widget" });
    const aliceWidget = await widgetFrame(page, laptop, { name: "Demo widget" });
    await sendFromDemoWidget(aliceWidget, {
      recipients: [[bob, "*"]],
      format: "scoped",
      text: "lobby business",
    });
    await waitForMessage(bobLobby, "lobby business");
    const routing = page
      .locator("[data-testid=inspector] li.wire-routing")
      .filter({ hasText: "Side room" })
      .last();
    await routing.locator("summary").click();
    expect(await routing.locator(".note").textContent()).toMatch(
      /Side room · Demo widget.*dropped \(other_room/,
    );
    expect((await receivedIn(bobSide)).map((m) => m.text)).not.toContain("lobby business");
  });

  it("reports an unknown device per device, and still delivers to the others", async () => {
    const aliceWidget = await widgetFrame(page, laptop, { name: "Demo widget" });
    const result = await sendFromDemoWidget(aliceWidget, {
      recipients: [[bob, desktop]],
      other: `${bob} NOSUCHDEVICE`,
      format: "recipients",
      text: "partly",
    });
    expect(result.kind).toBe("partial");
    expect(await aliceWidget.locator(".failures tbody tr").first().textContent()).toBe(
      `${bob}NOSUCHDEVICEunknown_device`,
    );
  });

  it("runs a widget loaded by URL from another origin, which sends and receives", async () => {
    for (const device of [laptop, phone, desktop]) {
      await page
        .locator(`[data-testid=client][data-device="${device}"] [data-testid=widget-card]`)
        .filter({ hasText: "Widget from" })
        .locator("[data-testid=capability-prompt]")
        .getByRole("button", { name: "Allow selected" })
        .click();
    }
    const aliceGuest = await widgetFrame(page, laptop, { name: "Widget from" });
    const bobGuest = await widgetFrame(page, desktop, { name: "Widget from" });
    expect(await aliceGuest.locator("#who").textContent()).toBe(`${alice} · ${laptop}`);
    expect(
      await sendFromDemoWidget(aliceGuest, { recipients: [[bob, desktop]], text: "guest olm" }),
    ).toMatchObject({ kind: "ok" });
    expect(await waitForMessage(bobGuest, "guest olm")).toMatchObject({
      sender: alice,
      senderDevice: laptop,
      encrypted: "true",
    });
    await sendFromDemoWidget(bobGuest, { recipients: [[alice, laptop]], text: "guest olm reply" });
    expect(await waitForMessage(aliceGuest, "guest olm reply")).toMatchObject({
      sender: bob,
      senderDevice: desktop,
    });
  });

  // Last: it ends the page's clients.
  it("takes every widget out and ends every client's sync when the page goes away", async () => {
    // Each client's /sync long-poll is cut short when its client stops: one per access token.
    const ended = new Set<string>();
    const allEnded = new Promise<void>((resolve) => {
      page.on("requestfailed", async (request) => {
        if (!new URL(request.url()).pathname.endsWith("/_matrix/client/v3/sync")) return;
        ended.add((await request.allHeaders()).authorization ?? "");
        if (ended.size === 3) resolve();
      });
    });
    // The event the page gets on leaving, dispatched here so the page stays to be looked at.
    await page.evaluate(() =>
      dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })),
    );
    expect(await page.locator("[data-testid=widget-card]").count()).toBe(0);
    await allEnded;
    expect(ended.size).toBe(3);
  });
});

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

// What the host does to keep widgets and links in their place: frames cannot speak for each
// other, links cannot run script or pick a homeserver, the demo's widgets live on another origin,
// and a prompt cannot be approved by a stray keystroke or by a choice made elsewhere.

const BOB = "@bob:example.org";
const LOBBY = "!lobby:example.org";
const SIDE = "!side:example.org";

const pages = useDemoPages();
const openDemo = pages.open;

const stockUrl = () =>
  `${pages.otherOrigin.url}stock-widget.html?userId=$matrix_user_id&deviceId=$matrix_device_id`;
const guestUrl = () =>
  `${pages.otherOrigin.url}widget.html?userId=$matrix_user_id&roomId=$matrix_room_id&deviceId=$matrix_device_id&peers=$peers`;

function card(page: Page, device: string, options: { room?: string; name?: string } = {}) {
  let cards = page.locator(
    `[data-testid=client][data-device="${device}"] [data-testid=widget-card]`,
  );
  if (options.room !== undefined) cards = cards.and(page.locator(`[data-room="${options.room}"]`));
  if (options.name !== undefined) cards = cards.filter({ hasText: options.name });
  return cards;
}

async function loadInto(page: Page, client: string, url: string): Promise<void> {
  const loader = page.locator("[data-testid=widget-loader]");
  await loader.locator("input[name=url]").fill(url);
  await loader.locator("select").selectOption({ label: `into ${client}` });
  await loader.getByRole("button", { name: "Load widget" }).click();
}

/** Waits until the card either shows a prompt or runs without one; true if it prompted. */
async function prompted(cardLocator: ReturnType<typeof card>): Promise<boolean> {
  const prompt = cardLocator.locator("[data-testid=capability-prompt]");
  const running = cardLocator.locator(".widget-status", { hasText: /^running$/ });
  await prompt.or(running).first().waitFor();
  return (await prompt.count()) > 0;
}

describe("widget frames", () => {
  it("a frame posting with another widget's ID gets nothing done, and the inspector shows it", async () => {
    const page = await openDemo(`?widget=${encodeURIComponent(stockUrl())}`);
    const victimCard = card(page, "ALICELAPTOP", { room: LOBBY }).first();
    const victimId = (await victimCard.getAttribute("data-widget-id")) as string;
    const victim = await widgetFrame(page, "ALICELAPTOP");
    const bob = await widgetFrame(page, "BOBDESKTOP", { room: LOBBY });
    await widgetReady(victim);
    await widgetReady(bob);
    const attacker = await widgetFrame(page, "ALICEPHONE", { name: "Widget from" });
    await attacker.waitForSelector("body");

    // The attacker speaks for Alice's laptop widget: a scoped send to Bob in the Lobby.
    await attacker.evaluate(
      ({ widgetId, bob }) => {
        parent.postMessage(
          {
            api: "fromWidget",
            widgetId,
            requestId: "forged-1",
            action: "send_to_device",
            data: {
              type: "org.example.demo.message",
              recipient_devices: { [bob]: ["BOBDESKTOP"] },
              content: { text: "forged" },
              scope: { id: "org.example.demo" },
            },
          },
          "*",
        );
      },
      { widgetId: victimId, bob: BOB },
    );
    // Barrier: the real widget's own send arrives after the forged one would have.
    const sent = await sendFromDemoWidget(victim, {
      recipients: [[BOB, "BOBDESKTOP"]],
      text: "genuine",
    });
    expect(sent.kind).toBe("ok");
    await waitForMessage(bob, "genuine");
    expect((await receivedIn(bob)).map((m) => m.text)).toEqual(["genuine"]);

    const blocked = page.locator(
      "[data-testid=inspector] li[data-title='blocked: send_to_device request']",
    );
    await expect.poll(() => blocked.count()).toBe(1);
    expect(await blocked.locator(".who").textContent()).toContain("Alice · laptop");
    await blocked.locator("summary").click();
    expect(await blocked.locator(".note").textContent()).toMatch(/not from that widget's frame/);
    await page.close();
  });

  it("serves the demo's own widgets from another origin than the host's", async () => {
    const page = await openDemo();
    const alice = await widgetFrame(page, "ALICELAPTOP");
    await widgetReady(alice);
    const hostOrigin = new URL(pages.demo.url).origin;
    expect(new URL(alice.url()).origin).not.toBe(hostOrigin);
    // The widget cannot reach into the page, so it cannot click the host's buttons.
    expect(
      await alice.evaluate(() => {
        try {
          return parent.document.title;
        } catch {
          return "blocked";
        }
      }),
    ).toBe("blocked");
    await page.close();
  });
});

describe("links", () => {
  it("refuses a javascript: widget URL, from a link or the field, and says why", async () => {
    const page = await openDemo(
      `?widget=${encodeURIComponent("javascript:top.document.title='PWNED'//")}`,
    );
    const refusals = page.locator("[data-testid=widget-refused]");
    await refusals.first().waitFor();
    expect(await refusals.first().textContent()).toMatch(/only http: and https:/);
    await loadInto(page, "Bob · desktop", "javascript:top.document.title='PWNED'//");
    await expect.poll(() => refusals.count()).toBe(2);
    expect(await page.title()).not.toBe("PWNED");
    expect(await card(page, "BOBDESKTOP", { name: "Widget from" }).count()).toBe(0);
    await page.close();
  });

  it("refuses a widget on the host's own origin", async () => {
    const page = await openDemo(`?widget=${encodeURIComponent(`${pages.demo.url}widget.html`)}`);
    const refusal = page.locator("[data-testid=widget-refused]").first();
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/the host's own origin/);
    expect(
      await page.locator("[data-testid=widget-card]", { hasText: "Widget from" }).count(),
    ).toBe(0);
    await page.close();
  });

  it("refuses relative and protocol-relative widget URLs and still loads the next one", async () => {
    const query = ["widget.html", "//example.invalid/w", stockUrl()]
      .map((url) => `widget=${encodeURIComponent(url)}`)
      .join("&");
    const page = await openDemo(`?${query}`);
    const refusals = page.locator("[data-testid=widget-refused]");
    await expect.poll(() => refusals.count()).toBe(2);
    for (const text of await refusals.allTextContents()) expect(text).toMatch(/not a full URL/);
    for (const device of ["ALICELAPTOP", "ALICEPHONE", "BOBDESKTOP"]) {
      await card(page, device, { name: "Widget from" }).waitFor();
    }
    await page.close();
  });

  it("tells widgets only the host's origin, not the page's URL", async () => {
    const page = await openDemo("?widgetName=private-words");
    const alice = await widgetFrame(page, "ALICELAPTOP");
    expect(new URL(alice.url()).searchParams.get("parentUrl")).toBe(new URL(pages.demo.url).origin);
    await page.close();
  });

  it("asks before using a homeserver named by a link, and contacts it only when told", async () => {
    const contacted: string[] = [];
    const page = await pages.newPage();
    page.on("request", (request) => {
      if (request.url().startsWith("http://127.0.0.1:9/")) contacted.push(request.url());
    });
    await page.goto(`${pages.demo.url}?homeserver=${encodeURIComponent("http://127.0.0.1:9")}`);
    const consent = page.locator("[data-testid=homeserver-consent]");
    await consent.waitFor();
    expect(await consent.textContent()).toContain("http://127.0.0.1:9");
    expect(contacted).toEqual([]);
    // Declining leads back to embedded mode.
    await consent.getByRole("link", { name: "Stay in embedded mode" }).click();
    await page.waitForSelector("body[data-ready=true][data-mode=embedded]");
    expect(contacted).toEqual([]);
    await page.close();
  });
});

describe("capability prompt", () => {
  it("opens at the top of the page", async () => {
    const page = await openDemo("", { viewport: { width: 1400, height: 1000 } });
    await card(page, "BOBDESKTOP", { room: SIDE })
      .locator("[data-testid=capability-prompt]")
      .waitFor();
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    await page.close();
  });

  it("does not focus Allow, and its buttons take no input at first", async () => {
    const page = await pages.newPage();
    // Recorded the moment a prompt enters the page, before anything else can act on it.
    await page.addInitScript(() => {
      const seen: Array<{ focused: boolean; disabled: boolean }> = [];
      (window as unknown as { prompts: typeof seen }).prompts = seen;
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) {
            if (!(node instanceof HTMLElement) || node.dataset.testid !== "capability-prompt")
              continue;
            const allow = node.querySelector("[data-action=allow]") as HTMLButtonElement;
            seen.push({ focused: document.activeElement === allow, disabled: allow.disabled });
          }
        }
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(pages.demo.url);
    const prompt = card(page, "BOBDESKTOP", { room: SIDE }).locator(
      "[data-testid=capability-prompt]",
    );
    await prompt.waitFor();
    expect(await page.evaluate(() => (window as unknown as { prompts: unknown }).prompts)).toEqual([
      { focused: false, disabled: true },
    ]);
    // After the short delay it answers as usual.
    await prompt.getByRole("button", { name: "Allow selected" }).click();
    await expect.poll(() => prompt.count()).toBe(0);
    await page.close();
  });

  it("remembers an approval only when asked, per account and widget", async () => {
    const page = await openDemo();
    await loadInto(page, "Alice · laptop", guestUrl());
    const first = card(page, "ALICELAPTOP", { name: "Widget from" });
    expect(await prompted(first)).toBe(true);
    await first.getByRole("button", { name: "Allow selected" }).click();
    await widgetReady(await widgetFrame(page, "ALICELAPTOP", { name: "Widget from" }));

    // Not remembered: the same URL in Bob's client, and again in Alice's, asks again.
    await loadInto(page, "Bob · desktop", guestUrl());
    expect(await prompted(card(page, "BOBDESKTOP", { name: "Widget from" }))).toBe(true);
    await loadInto(page, "Alice · laptop", guestUrl());
    const second = card(page, "ALICELAPTOP", { name: "Widget from" }).nth(1);
    expect(await prompted(second)).toBe(true);
    await second.getByLabel("Remember for this widget").check();
    await second.getByRole("button", { name: "Allow selected" }).click();

    // Remembered for Alice's laptop: no prompt there; Bob's client still asks.
    await loadInto(page, "Alice · laptop", guestUrl());
    expect(await prompted(card(page, "ALICELAPTOP", { name: "Widget from" }).nth(2))).toBe(false);
    await loadInto(page, "Bob · desktop", guestUrl());
    expect(await prompted(card(page, "BOBDESKTOP", { name: "Widget from" }).nth(1))).toBe(true);
    await page.close();
  });

  it("asks again for capabilities a remembered widget asks for later", async () => {
    const page = await openDemo();
    await loadInto(page, "Alice · laptop", guestUrl());
    const guest = card(page, "ALICELAPTOP", { name: "Widget from" });
    const prompt = guest.locator("[data-testid=capability-prompt]");
    await prompt.waitFor();
    await guest.getByLabel("Remember for this widget").check();
    await guest.getByRole("button", { name: "Allow selected" }).click();
    const frame = await widgetFrame(page, "ALICELAPTOP", { name: "Widget from" });
    await widgetReady(frame);
    const widgetId = (await guest.getAttribute("data-widget-id")) as string;
    const more = "org.matrix.msc3819.send.to_device:org.example.more";
    await frame.evaluate(
      ({ widgetId, more }) =>
        parent.postMessage(
          {
            api: "fromWidget",
            widgetId,
            requestId: "renegotiate-1",
            action: "org.matrix.msc2974.request_capabilities",
            data: { capabilities: [more] },
          },
          "*",
        ),
      { widgetId, more },
    );
    // Either a prompt for the new capability, or (answered from memory) a second notify.
    const notify = page
      .locator("[data-testid=inspector] li[data-title='notify_capabilities request']")
      .filter({ hasText: "Widget from" });
    await prompt.or(notify.nth(1)).first().waitFor();
    expect(await prompt.count()).toBe(1);
    expect(await prompt.locator("li.grantable > code").allTextContents()).toEqual([more]);
    await page.close();
  });
});

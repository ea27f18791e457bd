// `pnpm --filter @widget-todevice/demo screenshot`: writes docs/demo.png (the README's picture)
// from real Chromium, after a few sends in embedded mode. Run `pnpm build` in this package first.
import { fileURLToPath } from "node:url";
import {
  launchChromium,
  sendFromDemoWidget,
  serveBuiltDemo,
  waitForMessage,
  widgetFrame,
} from "../test/browser.js";

const output = fileURLToPath(new URL("../../../docs/demo.png", import.meta.url));
const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const CAROL = "@carol:example.org";

const [browser, demo] = await Promise.all([launchChromium(), serveBuiltDemo()]);
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(demo.url);
  await page.waitForSelector("body[data-ready=true]");
  const alice = await widgetFrame(page, "ALICELAPTOP");
  const phone = await widgetFrame(page, "ALICEPHONE");
  const bob = await widgetFrame(page, "BOBDESKTOP", { room: "!lobby:example.org" });
  await sendFromDemoWidget(alice, {
    recipients: [[BOB, "*"]],
    format: "scoped",
    text: "Hi Bob! Scoped to the Lobby, encrypted.",
  });
  await waitForMessage(bob, "Hi Bob! Scoped to the Lobby, encrypted.");
  await sendFromDemoWidget(bob, {
    recipients: [[ALICE, "*"]],
    format: "scoped",
    text: "Hi Alice, both of your devices.",
  });
  await waitForMessage(phone, "Hi Alice, both of your devices.");
  await sendFromDemoWidget(phone, {
    recipients: [
      [BOB, "BOBDESKTOP"],
      [CAROL, "*"],
    ],
    format: "scoped",
    text: "Carol's old device has no one-time keys left",
  });
  await page.locator("[data-testid=inspector] input[data-filter=handshake]").check();
  // Open the latest send_to_device request in the inspector: its JSON and the size comparison.
  const request = page
    .locator(
      "[data-testid=inspector] li[data-title='send_to_device request'][data-direction='widget → host']",
    )
    .last();
  await request.locator("summary").click();
  // The demo's widgets are on another site, so in frames of their own processes: a full-page
  // capture (which stretches the page after layout) leaves them blank. Grow the viewport to the
  // page instead, let the frames paint, and capture that.
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1440, height });
  await page.waitForTimeout(500);
  await page.screenshot({ path: output });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await demo.close();
}

import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Frame, type Page } from "playwright-core";
import { type PreviewServer, preview } from "vite";

// Real Chromium (Debian's) against the BUILT demo, served by vite preview as `pnpm demo` does.

const root = fileURLToPath(new URL("..", import.meta.url));

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dist/` on a free port of 127.0.0.1 (each server is its own origin). */
export async function serveBuiltDemo(): Promise<Served> {
  const server: PreviewServer = await preview({
    root,
    logLevel: "warn",
    preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => server.close(),
  };
}

/** The iframe of the widget card matching `cardSelector` inside the client for `device`. */
export async function widgetFrame(
  page: Page,
  device: string,
  options: { room?: string; name?: string; nth?: number } = {},
): Promise<Frame> {
  const client = page.locator(`[data-testid=client][data-device="${device}"]`);
  let cards = client.locator("[data-testid=widget-card]");
  if (options.room !== undefined) cards = cards.and(page.locator(`[data-room="${options.room}"]`));
  if (options.name !== undefined) cards = cards.filter({ hasText: options.name });
  const card = cards.nth(options.nth ?? 0);
  const handle = await card.locator("iframe").elementHandle({ timeout: 15_000 });
  const frame = await handle?.contentFrame();
  if (frame === null || frame === undefined) throw new Error(`no widget frame in ${device}`);
  return frame;
}

/** Waits until the demo widget negotiated with its host. */
export async function widgetReady(frame: Frame): Promise<void> {
  await frame.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
}

/** Ticks recipients in a demo widget, picks format and encryption, types and sends. */
export async function sendFromDemoWidget(
  frame: Frame,
  options: {
    recipients: ReadonlyArray<readonly [user: string, device: string]>;
    format?: "legacy" | "recipients" | "scoped";
    encryption?: "host" | "encrypted" | "cleartext";
    other?: string;
    text: string;
  },
): Promise<{ kind: string; text: string }> {
  await widgetReady(frame);
  const wanted = new Set(options.recipients.map(([user, device]) => `${user} ${device}`));
  for (const box of await frame.locator("input[name=recipient]").all()) {
    const key = `${await box.getAttribute("data-user")} ${await box.getAttribute("data-device")}`;
    await box.setChecked(wanted.has(key));
  }
  await frame.locator("#other").fill(options.other ?? "");
  await frame.locator("#format").selectOption(options.format ?? "scoped");
  await frame.locator("#encryption").selectOption(options.encryption ?? "host");
  await frame.locator("#text").fill(options.text);
  await frame.locator("#send").click();
  await frame.waitForFunction(() => {
    const result = document.querySelector("#result") as HTMLElement | null;
    return (
      result !== null && result.dataset.kind !== undefined && result.textContent !== "sending…"
    );
  });
  const result = frame.locator("#result");
  return {
    kind: (await result.getAttribute("data-kind")) ?? "",
    text: (await result.textContent()) ?? "",
  };
}

export interface Received {
  readonly text: string;
  readonly sender: string;
  readonly senderDevice: string;
  readonly encrypted: string;
  readonly verified: string;
  readonly scopeRoom: string;
}

/** Every message the widget shows as received, newest first. */
export async function receivedIn(frame: Frame): Promise<Received[]> {
  return frame.locator("[data-testid=received]").evaluateAll((items) =>
    items.map((item) => {
      const d = (item as HTMLElement).dataset;
      return {
        text: d.text ?? "",
        sender: d.sender ?? "",
        senderDevice: d.senderDevice ?? "",
        encrypted: d.encrypted ?? "",
        verified: d.verified ?? "",
        scopeRoom: d.scopeRoom ?? "",
      };
    }),
  );
}

/** Waits for a message with `text` in the widget and returns it. */
export async function waitForMessage(
  frame: Frame,
  text: string,
  timeout = 15_000,
): Promise<Received> {
  await frame.locator(`[data-testid=received][data-text="${text}"]`).first().waitFor({ timeout });
  const all = await receivedIn(frame);
  return all.find((m) => m.text === text) as Received;
}

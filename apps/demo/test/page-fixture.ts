import { type Homeserver, startHomeserver } from "@widget-todevice/homeserver";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium, type Served, serveBuiltDemo } from "./browser.js";

// The set-up the Chromium test files share: one Chromium per file, the built demo served twice
// (the host's origin, and another origin for widgets loaded by URL, as a real widget would be),
// pages on the demo, and a Synapse for the files that run homeserver mode.

export interface PageOptions {
  readonly viewport?: { width: number; height: number };
  /** Runs on the new page before it loads the demo: init scripts, listeners. */
  readonly beforeLoad?: (page: Page) => unknown;
}

export interface DemoPages {
  readonly browser: Browser;
  /** The host page's server. */
  readonly demo: Served;
  /** The same build on another origin, for widgets loaded by URL. */
  readonly otherOrigin: Served;
  /** A new page (not loaded yet) that reports the page's uncaught errors. */
  newPage(options?: PageOptions): Promise<Page>;
  /** A new page on the demo with `query` (`?widget=...`), once the host page is ready. */
  open(query?: string, options?: PageOptions): Promise<Page>;
  /**
   * A new page on the demo in homeserver mode on `homeserver`, with `query` added (`&call`),
   * once the user agreed to the homeserver and the page is ready.
   */
  openOnHomeserver(homeserver: Homeserver, query?: string, options?: PageOptions): Promise<Page>;
}

const VIEWPORT = { width: 1500, height: 1100 };

/** Starts Chromium and the demo's servers before the file's tests, and stops them after. */
export function useDemoPages(): DemoPages {
  let browser: Browser | undefined;
  let demo: Served | undefined;
  let otherOrigin: Served | undefined;

  beforeAll(async () => {
    [browser, demo, otherOrigin] = await Promise.all([
      launchChromium(),
      serveBuiltDemo(),
      serveBuiltDemo(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await otherOrigin?.close();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the demo's pages are used before beforeAll ran");
    return value;
  };

  const pages: DemoPages = {
    get browser() {
      return started(browser);
    },
    get demo() {
      return started(demo);
    },
    get otherOrigin() {
      return started(otherOrigin);
    },
    async newPage(options = {}) {
      const page = await started(browser).newPage({ viewport: options.viewport ?? VIEWPORT });
      page.on("pageerror", (error) => console.error("page error:", error.message));
      await options.beforeLoad?.(page);
      return page;
    },
    async open(query = "", options = {}) {
      const page = await pages.newPage(options);
      await page.goto(`${started(demo).url}${query}`);
      await page.waitForSelector("body[data-ready=true]");
      return page;
    },
    async openOnHomeserver(homeserver, query = "", options = {}) {
      const page = await pages.newPage(options);
      await page.goto(
        `${started(demo).url}?homeserver=${encodeURIComponent(homeserver.baseUrl)}${query}`,
      );
      // A homeserver named by a link is used only once the user says so.
      await page
        .locator("[data-testid=homeserver-consent]")
        .getByRole("button", { name: "Use this homeserver" })
        .click();
      // Registering accounts and the clients' first sync with Rust crypto take a while.
      await page.waitForSelector("body[data-ready=true]", { timeout: 90_000 });
      return page;
    },
  };
  return pages;
}

/**
 * Starts the project's Synapse (the cached chroot, see tooling/homeserver) before the tests of
 * the file or `describe` it is called in, and stops it after them.
 */
export function useHomeserver(): { readonly homeserver: Homeserver } {
  let homeserver: Homeserver | undefined;
  beforeAll(async () => {
    homeserver = await startHomeserver();
  });
  afterAll(async () => {
    await homeserver?.stop();
  });
  return {
    get homeserver() {
      if (homeserver === undefined) throw new Error("the homeserver is used before beforeAll ran");
      return homeserver;
    },
  };
}

/**
 * What the end-to-end tests and the benchmark need from a page when they run in plain Node
 * (matrix-js-sdk needs Node's own fetch, so no DOM environment): importing this module installs it.
 */

import { setMaxListeners } from "node:events";

// matrix-js-sdk 43 declares Node >= 22; on Node 20 only `Promise.withResolvers` is missing.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// The widget harnesses (`@widget-todevice/widget-frames`) need a global that is an
// EventTarget, as `window` is in a page: matrix-widget-api listens for `message` on `globalThis`.
// These tests run in Node (matrix-js-sdk needs Node's own fetch), so give globalThis an
// EventTarget's methods.
if (typeof (globalThis as { addEventListener?: unknown }).addEventListener !== "function") {
  const target = new EventTarget();
  // Every widget adds a `message` listener; dozens on one page are expected.
  setMaxListeners(0, target);
  Object.assign(globalThis, {
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
    dispatchEvent: target.dispatchEvent.bind(target),
  });
}

// Node's own MessageEvent accepts only a MessagePort as `source`; a page's takes a window.
class WindowMessageEvent extends Event {
  readonly data: unknown;
  readonly origin: string;
  readonly source: unknown;
  constructor(type: string, init: { data?: unknown; origin?: string; source?: unknown } = {}) {
    super(type);
    this.data = init.data;
    this.origin = init.origin ?? "";
    this.source = init.source ?? null;
  }
}
Object.defineProperty(globalThis, "MessageEvent", {
  configurable: true,
  writable: true,
  value: WindowMessageEvent,
});

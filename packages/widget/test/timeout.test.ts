// Conformance case 18: the widget package waits at least 60 s for the host's answer to
// `send_to_device`. Real matrix-widget-api objects (stock `ClientWidgetApi` host, real
// `WidgetApi`, real postMessages, see harness.ts) with fake `setTimeout`: the host's driver
// answers after a fake delay, and the transports' timeouts run on the same fake clock.
// happy-dom delivers postMessage on its own timer, which is not faked.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import {
  createToDeviceWidget,
  DEFAULT_SEND_TIMEOUT_MS,
  type ToDeviceWidget,
} from "../src/index.js";
import {
  embedWidget,
  type HostWindow,
  installStructuredClone,
  quietWidgetApiLogs,
  RecordingDriver,
  until,
  widgetUrl,
} from "./harness.js";

const PING = "org.example.ping";
const BOB = { "@bob:example.org": ["BOBDEV"] };

let driver: RecordingDriver;
let page: HostWindow;
let widget: ToDeviceWidget;
let restoreClone: () => void;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  quietWidgetApiLogs();
  restoreClone = installStructuredClone();
  driver = new RecordingDriver();
  page = embedWidget(driver, widgetUrl());
  widget = createToDeviceWidget({ url: widgetUrl(), send: [PING] });
  page.load();
  await widget.ready;
});

afterEach(() => {
  widget.close();
  widget.api.transport.stop();
  page.stop();
  restoreClone();
  vi.useRealTimers();
});

/** Lets the host take `ms` (fake) before it answers. */
function hostAnswersAfter(ms: number): void {
  driver.beforeAnswer = () => new Promise((resolve) => setTimeout(resolve, ms));
}

function settled<T>(promise: Promise<T>): () => "pending" | "resolved" | "rejected" {
  let state: "pending" | "resolved" | "rejected" = "pending";
  promise.then(
    () => {
      state = "resolved";
    },
    () => {
      state = "rejected";
    },
  );
  return () => state;
}

test("a host answering after 15 s is waited for; the library default gives up at 10 s", async () => {
  hostAnswersAfter(15_000);
  const ours = widget.send(PING, BOB, { n: 1 });
  const stock = widget.api.sendToDevice(PING, true, { "@bob:example.org": { BOBDEV: { n: 2 } } });
  const oursState = settled(ours);
  const stockState = settled(stock);
  await until(() => driver.sent.length === 2, "both requests at the host");

  await vi.advanceTimersByTimeAsync(10_000);
  // The control: matrix-widget-api's own sendToDevice times out at its 10 s default.
  await until(() => stockState() !== "pending", "the stock request to settle");
  expect(stockState()).toBe("rejected");
  await expect(stock).rejects.toThrow("Request timed out");
  expect(oursState()).toBe("pending");

  await vi.advanceTimersByTimeAsync(5_000);
  await until(() => oursState() !== "pending", "our request to settle");
  await expect(ours).resolves.toEqual({ format: "legacy", failures: {} });
});

test("gives up after 60 s, not before, with a typed timeout error", async () => {
  expect(DEFAULT_SEND_TIMEOUT_MS).toBeGreaterThanOrEqual(60_000);
  hostAnswersAfter(3_600_000);
  const sending = widget.send(PING, BOB, { n: 1 });
  const state = settled(sending);
  await until(() => driver.sent.length === 1, "the request at the host");

  await vi.advanceTimersByTimeAsync(59_999);
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  expect(state()).toBe("pending");

  await vi.advanceTimersByTimeAsync(1);
  await until(() => state() !== "pending", "the timeout");
  await expect(sending).rejects.toMatchObject({ name: "ToDeviceSendError", reason: "timeout" });
});

test("a per-send timeout overrides the default, and other requests keep theirs", async () => {
  hostAnswersAfter(80_000);
  const timeouts: number[] = [];
  const transport = widget.api.transport;
  const post = transport.sendComplete.bind(transport);
  vi.spyOn(transport, "sendComplete").mockImplementation((action, data) => {
    timeouts.push(transport.timeoutSeconds);
    return post(action, data);
  });
  const sending = widget.send(PING, BOB, { n: 1 }, { timeoutMs: 90_000 });
  const state = settled(sending);
  await until(() => driver.sent.length === 1, "the request at the host");
  expect(timeouts).toEqual([90]);
  // Set for that one post only: the widget API's other requests keep the library's 10 s.
  expect(transport.timeoutSeconds).toBe(10);
  await vi.advanceTimersByTimeAsync(80_000);
  await until(() => state() !== "pending", "the answer");
  expect(state()).toBe("resolved");
});

test("the widget's sendTimeoutMs sets the default for its sends", async () => {
  widget.close();
  widget.api.transport.stop();
  page.stop();
  page = embedWidget(driver, widgetUrl());
  widget = createToDeviceWidget({ url: widgetUrl(), send: [PING], sendTimeoutMs: 75_000 });
  page.load();
  await widget.ready;
  const timeouts: number[] = [];
  const transport = widget.api.transport;
  const post = transport.sendComplete.bind(transport);
  vi.spyOn(transport, "sendComplete").mockImplementation((action, data) => {
    timeouts.push(transport.timeoutSeconds);
    return post(action, data);
  });
  await widget.send(PING, BOB, { n: 1 });
  expect(timeouts).toEqual([75]);
});

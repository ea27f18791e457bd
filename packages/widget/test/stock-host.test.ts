// Real matrix-widget-api objects: a stock `ClientWidgetApi` host (legacy MSC3819 only) whose
// `WidgetDriver` records `sendToDevice` calls, and the widget package on a real `WidgetApi`,
// exchanging real postMessages in happy-dom (see harness.ts). No fakes besides the driver.
import { FORMAT_LEGACY, FORMAT_RECIPIENTS, FORMAT_SCOPED } from "@widget-todevice/codec";
import * as t from "io-ts";
import { CurrentApiVersions, type IWidgetApiRequest, WidgetApi } from "matrix-widget-api";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  ToDeviceCapabilityError,
  type ToDeviceReceiveError,
  ToDeviceSendError,
  type ToDeviceWidget,
} from "../src/index.js";
import {
  embedWidget,
  type HostWindow,
  installStructuredClone,
  quietWidgetApiLogs,
  RecordingDriver,
  ROOM,
  until,
  widgetUrl,
} from "./harness.js";

const PING = "org.example.ping";
const PingC = t.type({ n: t.number });

let driver: RecordingDriver;
let page: HostWindow;
let widget: ToDeviceWidget | undefined;
let restoreClone: () => void;

beforeEach(() => {
  quietWidgetApiLogs();
  restoreClone = installStructuredClone();
  driver = new RecordingDriver();
  page = embedWidget(driver, widgetUrl());
});

afterEach(() => {
  widget?.close();
  widget?.api.transport.stop();
  widget = undefined;
  page.stop();
  restoreClone();
});

function start(options: Parameters<typeof createToDeviceWidget>[0] = {}): ToDeviceWidget {
  widget = createToDeviceWidget({
    url: widgetUrl(),
    send: [PING],
    receive: [PING],
    onError: () => {},
    ...options,
  });
  page.load();
  return widget;
}

describe("negotiation with a stock host", () => {
  test("advertises the codec's formats next to the stock versions", async () => {
    start();
    const versions = await page.host.getWidgetVersions();
    expect(versions).toEqual(expect.arrayContaining([...CurrentApiVersions]));
    expect(versions).toEqual(
      expect.arrayContaining([FORMAT_LEGACY, FORMAT_RECIPIENTS, FORMAT_SCOPED]),
    );
  });

  test("asks for the declared capabilities and reports which were granted", async () => {
    let requested: string[] = [];
    driver.grant = (caps) => {
      requested = [...caps];
      return new Set([...caps].filter((cap) => cap.includes(".send.")));
    };
    const negotiation = await start().ready;
    expect(requested.sort()).toEqual([
      `org.matrix.msc3819.receive.to_device:${PING}`,
      `org.matrix.msc3819.send.to_device:${PING}`,
    ]);
    expect(negotiation.granted).toEqual({ send: [PING], receive: [] });
    expect(negotiation.denied).toEqual({ send: [], receive: [PING] });
    expect(negotiation.format).toBe("legacy");
    expect(negotiation.hostFormats).toEqual(["legacy"]);
    expect(negotiation.scoped).toBe(false);
  });

  test("refuses reserved types before asking the host", () => {
    const request = vi.spyOn(WidgetApi.prototype, "requestCapabilities");
    expect(() =>
      createToDeviceWidget({ url: widgetUrl(), send: [PING], receive: ["m.room_key"] }),
    ).toThrow(ToDeviceCapabilityError);
    const error = (() => {
      try {
        createToDeviceWidget({ url: widgetUrl(), send: ["m.key.verification.start"] });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ToDeviceCapabilityError);
    expect(error).toMatchObject({ reason: "reserved_type", types: ["m.key.verification.start"] });
    expect(request).not.toHaveBeenCalled();
  });
});

describe("sending to a stock host (conformance case 2)", () => {
  test("sends the legacy map, the content repeated per device, and resolves on {}", async () => {
    const receipt = await start().send(
      PING,
      { "@bob:example.org": ["BOBPHONE", "BOBLAPTOP"], "@carol:example.org": "*" },
      { hello: "world" },
    );
    expect(receipt).toEqual({ format: "legacy", failures: {} });
    expect(driver.sent).toEqual([
      {
        type: PING,
        encrypted: true,
        messages: {
          "@bob:example.org": { BOBPHONE: { hello: "world" }, BOBLAPTOP: { hello: "world" } },
          "@carol:example.org": { "*": { hello: "world" } },
        },
      },
    ]);
  });

  test("passes an explicit encrypted: false on", async () => {
    await start().send(PING, { "@bob:example.org": ["B"] }, { n: 1 }, { encrypted: false });
    expect(driver.sent[0]?.encrypted).toBe(false);
  });

  test("refuses a scoped send instead of sending it unscoped", async () => {
    const sending = start().send(PING, { "@bob:example.org": ["B"] }, { n: 1 }, { scope: {} });
    await expect(sending).rejects.toMatchObject({ reason: "scope_unsupported" });
    await expect(sending).rejects.toThrow(/not sent unscoped/);
    expect(driver.sent).toEqual([]);
  });

  test("fails fast on bad input with the codec's paths, posting nothing", async () => {
    const w = start();
    const post = vi.spyOn(w.api.transport, "send");
    const error = await w
      .send(PING, { "@bob:example.org": ["A", "A"], "not-a-user": ["B"] }, { n: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToDeviceSendError);
    const sendError = error as ToDeviceSendError;
    expect(sendError.reason).toBe("invalid_request");
    expect(sendError.issues.map((issue) => issue.path)).toEqual([
      'recipient_devices["@bob:example.org"][1]',
      'recipient_devices["not-a-user"]',
    ]);
    await expect(w.send(PING, {}, { n: 1 })).rejects.toMatchObject({ reason: "invalid_request" });
    await expect(w.send(PING, { "@b:x.org": ["B"] }, { scope: 1 })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: "content.scope" })],
    });
    expect(post).not.toHaveBeenCalledWith("send_to_device", expect.anything());
    expect(driver.sent).toEqual([]);
  });

  test("refuses types it did not declare, and types the host did not grant", async () => {
    driver.grant = () => new Set();
    const w = start();
    await expect(w.send("org.example.other", { "@b:x.org": ["B"] }, {})).rejects.toMatchObject({
      reason: "not_declared",
    });
    await expect(w.send(PING, { "@b:x.org": ["B"] }, {})).rejects.toMatchObject({
      reason: "not_permitted",
    });
    expect(driver.sent).toEqual([]);
  });

  test("rejects with the host's error message when the driver fails", async () => {
    driver.beforeAnswer = async () => {
      throw new Error("homeserver unreachable");
    };
    const error = await start()
      .send(PING, { "@b:x.org": ["B"] }, { n: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToDeviceSendError);
    expect(error).toMatchObject({ reason: "host_refused", hostMessage: "Error sending event" });
  });
});

describe("receiving from a stock host", () => {
  test("a typed subscription gets decoded content and the sender facts", async () => {
    const w = start();
    const got: ReceivedToDeviceMessage<{ n: number }>[] = [];
    w.subscribe(
      PING,
      (message) => {
        got.push(message);
      },
      { content: PingC },
    );
    await w.ready;
    await page.host.feedToDevice(
      // A leaky host copies the raw event: envelope fields must not reach the handler.
      {
        type: PING,
        sender: "@bob:example.org",
        content: { n: 7 },
        keys: { ed25519: "k" },
      } as never,
      true,
    );
    await until(() => got.length === 1, "the message");
    expect(got).toEqual([
      { type: PING, sender: "@bob:example.org", encrypted: true, content: { n: 7 } },
    ]);
  });

  test("content failing its codec goes to onError, the host still gets {}", async () => {
    const errors: ToDeviceReceiveError[] = [];
    const handler = vi.fn();
    const w = start({ onError: (error) => errors.push(error) });
    w.subscribe(PING, handler, { content: PingC });
    await w.ready;
    // feedToDevice rejects if the widget answers with an error or not at all.
    await expect(
      page.host.feedToDevice(
        { type: PING, sender: "@bob:example.org", content: { n: "7" } },
        false,
      ),
    ).resolves.toBeUndefined();
    expect(handler).not.toHaveBeenCalled();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: "invalid_content", sender: "@bob:example.org" });
    expect(errors[0]?.issues[0]?.path).toBe("n");
  });

  test("a throwing handler is reported, not thrown into the host", async () => {
    const errors: ToDeviceReceiveError[] = [];
    const w = start();
    w.subscribe(
      PING,
      () => {
        throw new Error("boom");
      },
      { onError: (error) => errors.push(error) },
    );
    w.subscribe(
      PING,
      async () => {
        throw new Error("async boom");
      },
      { onError: (error) => errors.push(error) },
    );
    await w.ready;
    await expect(
      page.host.feedToDevice({ type: PING, sender: "@bob:example.org", content: {} }, true),
    ).resolves.toBeUndefined();
    await until(() => errors.length === 2, "both errors");
    expect(errors.map((error) => error.reason)).toEqual(["handler_failed", "handler_failed"]);
  });

  test("unsubscribing is one call", async () => {
    const w = start();
    const handler = vi.fn();
    const unsubscribe = w.subscribe(PING, handler);
    await w.ready;
    const message = { type: PING, sender: "@bob:example.org", content: { n: 1 } };
    await page.host.feedToDevice(message, true);
    unsubscribe();
    await page.host.feedToDevice(message, true);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  test("messages() is an async iterator; break unsubscribes", async () => {
    const w = start();
    const stream = w.messages(PING, { content: PingC });
    await w.ready;
    for (const n of [1, 2]) {
      await page.host.feedToDevice(
        { type: PING, sender: "@bob:example.org", content: { n } },
        true,
      );
    }
    const seen: number[] = [];
    for await (const message of stream) {
      seen.push(message.content.n);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test("messages() keeps at most maxBuffered unread messages and reports the ones it drops", async () => {
    const errors: ToDeviceReceiveError[] = [];
    const w = start();
    const stream = w.messages(PING, {
      content: PingC,
      maxBuffered: 2,
      onError: (error) => errors.push(error),
    });
    await w.ready;
    for (const n of [1, 2, 3]) {
      await page.host.feedToDevice(
        { type: PING, sender: "@bob:example.org", content: { n } },
        true,
      );
    }
    expect(errors.map((error) => [error.reason, error.sender])).toEqual([
      ["buffer_full", "@bob:example.org"],
    ]);
    const first = await stream.next();
    expect(first.done === false && first.value.content.n).toBe(2);
    await stream.return?.();
  });

  test("subscribing to an undeclared type throws", () => {
    expect(() => start().subscribe("org.example.other", () => {})).toThrow(ToDeviceCapabilityError);
  });
});

describe("scoped mode's second line of defence", () => {
  test("a host that claims to scope but leaks another room's message: the widget drops it", async () => {
    page.stop();
    // A stock host that advertises every format, but filters nothing.
    page = embedWidget(driver, widgetUrl(), (host) => {
      host.on("action:supported_api_versions", (event: CustomEvent<IWidgetApiRequest>) => {
        event.preventDefault();
        host.transport.reply(event.detail, {
          supported_versions: [...CurrentApiVersions, FORMAT_RECIPIENTS, FORMAT_SCOPED],
        });
      });
    });
    const errors: ToDeviceReceiveError[] = [];
    const w = start({ onError: (error) => errors.push(error) });
    const got: unknown[] = [];
    w.subscribe(PING, (message) => {
      got.push(message.content);
    });
    expect(await w.ready).toMatchObject({ scoped: true, format: "scoped" });
    const sender = "@bob:example.org";
    const scoped = (room_id: string) => ({ n: 1, scope: { room_id, id: PING } });
    await page.host.feedToDevice({ type: PING, sender, content: scoped("!r2:example.org") }, true);
    await page.host.feedToDevice({ type: PING, sender, content: { n: 2 } }, true);
    await page.host.feedToDevice({ type: PING, sender, content: scoped(ROOM) }, true);
    expect(got).toEqual([scoped(ROOM)]);
    expect(errors.map((error) => error.reason)).toEqual(["out_of_scope", "out_of_scope"]);
  });

  test("an invalid message from the host is answered with an error naming the path", async () => {
    const errors: ToDeviceReceiveError[] = [];
    const w = start({ onError: (error) => errors.push(error) });
    await w.ready;
    const feeding = page.host.feedToDevice({ type: PING, sender: "bob", content: {} }, true);
    await expect(feeding).rejects.toThrow(/Invalid to-device message: sender/);
    expect(errors[0]).toMatchObject({ reason: "invalid_message" });
  });
});

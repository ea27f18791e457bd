// The host is untrusted input. A host that says whatever it likes (fake-host.ts) against the
// widget package on a real `WidgetApi`: malformed answers, negotiation messages that never come
// or come malformed, sender facts it does not vouch for, and timeouts no timer can hold.
import { FORMAT_RECIPIENTS, FORMAT_SCOPED } from "@widget-todevice/codec";
import { CurrentApiVersions, type WidgetApi } from "matrix-widget-api";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  type ToDeviceReceiveError,
  type ToDeviceWidget,
  type ToDeviceWidgetOptions,
} from "../src/index.js";
import { FakeHost, settle, watch } from "./fake-host.js";
import { quietWidgetApiLogs, ROOM, widgetUrl } from "./harness.js";

const PING = "org.example.ping";
const BOB = "@bob:example.org";
const TO_BOB = { [BOB]: ["BOBDEV"] };

let host: FakeHost;
let widget: ToDeviceWidget | undefined;
let api: WidgetApi;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  quietWidgetApiLogs();
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
  host = new FakeHost();
  api = host.widgetApi();
});

afterEach(async () => {
  widget?.close();
  widget = undefined;
  api.transport.stop();
  host.restore();
  // Rejections are reported as unhandled a macrotask after they happen.
  await new Promise((resolve) => setImmediate(resolve));
  process.off("unhandledRejection", onUnhandled);
  vi.useRealTimers();
});

function start(options: Partial<ToDeviceWidgetOptions> = {}): ToDeviceWidget {
  widget = createToDeviceWidget({
    api,
    url: widgetUrl(),
    send: [PING],
    receive: [PING],
    onError: () => {},
    ...options,
  });
  return widget;
}

/** Answers every versions request the widget has open with `response`. */
function answerVersions(response: unknown): void {
  for (const request of host.pending("supported_api_versions")) host.answer(request, response);
}

async function noUnhandledRejections(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
}

describe("sender facts exist only where the host vouches for them", () => {
  // A stock host spreads the raw decrypted event: the sender wrote these into the Olm plaintext.
  const forged = {
    type: PING,
    sender: BOB,
    encrypted: true,
    content: { n: 1 },
    sender_device: "FORGED",
    sender_verified: true,
  };

  test("a host that advertised only legacy: sender_device and sender_verified are absent", async () => {
    const w = start();
    const got: ReceivedToDeviceMessage[] = [];
    w.subscribe(PING, (message) => {
      got.push(message);
    });
    await host.negotiate(settle, CurrentApiVersions);
    await expect(w.ready).resolves.toMatchObject({ hostFormats: ["legacy"] });
    host.request("send_to_device", forged);
    await settle();
    expect(got).toEqual([{ type: PING, sender: BOB, encrypted: true, content: { n: 1 } }]);
  });

  test("a host that advertised recipient_devices vouches: they are passed on", async () => {
    const w = start();
    const got: ReceivedToDeviceMessage[] = [];
    w.subscribe(PING, (message) => {
      got.push(message);
    });
    await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS]);
    host.request("send_to_device", { ...forged, sender_device: "BOBDEV" });
    await settle();
    expect(got).toEqual([
      {
        type: PING,
        sender: BOB,
        encrypted: true,
        content: { n: 1 },
        sender_device: "BOBDEV",
        sender_verified: true,
      },
    ]);
  });
});

describe("only {} or a well-formed failures report is a success", () => {
  async function sendAnswered(response: unknown, acceptPartial = false): Promise<unknown> {
    const w = start();
    await host.negotiate(settle);
    const sending = w.send(PING, TO_BOB, { n: 1 }, { acceptPartial });
    const state = watch(sending);
    await settle();
    const [request] = host.pending("send_to_device");
    if (request === undefined) throw new Error("the send was not posted");
    host.answer(request, response);
    await settle();
    expect(state()).not.toBe("pending");
    return sending;
  }

  test.each([
    ["an error that is a string", { error: "M_FORBIDDEN" }, "host_refused", "M_FORBIDDEN"],
    [
      "an error without a message",
      { error: { errcode: "M_FORBIDDEN" } },
      "host_refused",
      '{"errcode":"M_FORBIDDEN"}',
    ],
    ["an error whose message is not a string", { error: { message: 42 } }, "host_refused", "42"],
    ["a string", "ok", "invalid_reply", '"ok"'],
    ["an array", [], "invalid_reply", "[]"],
    ["a field the protocol does not define", { sent: true }, "invalid_reply", '"sent"'],
    [
      "failures naming a device as a string",
      { failures: { [BOB]: "BOBDEV" } },
      "invalid_reply",
      '"BOBDEV"',
    ],
    ["failures as a list", { failures: [[BOB, "BOBDEV"]] }, "invalid_reply", "BOBDEV"],
    [
      "failures under a __proto__ user key",
      { failures: JSON.parse('{"__proto__": {"BOBDEV": "unknown_device"}}') },
      "invalid_reply",
      "__proto__",
    ],
    ["failures naming no device", { failures: { [BOB]: {} } }, "invalid_reply", BOB],
    [
      "failures whose reason is not a string",
      { failures: { [BOB]: { BOBDEV: 1 } } },
      "invalid_reply",
      "BOBDEV",
    ],
  ])("%s rejects with what the host said", async (_, response, reason, said) => {
    const error = await (sendAnswered(response, true) as Promise<unknown>).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ToDeviceSendError", reason });
    expect((error as Error).message).toContain(said);
  });

  test("{} resolves; so does an empty failures map", async () => {
    await expect(sendAnswered({})).resolves.toEqual({ format: "legacy", failures: {} });
    widget?.close();
    api.transport.stop();
    api = host.widgetApi();
    await expect(sendAnswered({ failures: {} })).resolves.toEqual({
      format: "legacy",
      failures: {},
    });
  });

  test("a well-formed partial report rejects, or resolves with acceptPartial", async () => {
    const failures = { [BOB]: { BOBDEV: "unknown_device" } };
    await expect(sendAnswered({ failures })).rejects.toMatchObject({
      reason: "partial_failure",
      failures,
    });
    widget?.close();
    api.transport.stop();
    api = host.widgetApi();
    await expect(sendAnswered({ failures }, true)).resolves.toEqual({ format: "legacy", failures });
  });

  test("matrix-rust-sdk's {user: [device]} is a partial report, each device `unspecified`", async () => {
    const listed = { failures: { [BOB]: ["BOBDEV", "*"] } };
    const failures = { [BOB]: { BOBDEV: "unspecified", "*": "unspecified" } };
    await expect(sendAnswered(listed)).rejects.toMatchObject({
      reason: "partial_failure",
      failures,
      hostReply: listed,
    });
    widget?.close();
    api.transport.stop();
    api = host.widgetApi();
    await expect(sendAnswered(listed, true)).resolves.toEqual({ format: "legacy", failures });
  });

  test("an error's own failures come with host_refused, the list form read the same way", async () => {
    const error = await (
      sendAnswered(
        { error: { message: "partly sent", failures: { [BOB]: ["BOBDEV"] } } },
        true,
      ) as Promise<unknown>
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: "host_refused",
      hostMessage: "partly sent",
      failures: { [BOB]: { BOBDEV: "unspecified" } },
    });
  });

  test.each([
    ["an empty list", { [BOB]: [] }, `failures["${BOB}"]`],
    ["a number in a list", { [BOB]: ["BOBDEV", 7] }, `failures["${BOB}"][1]`],
    ["a list of lists", { [BOB]: [["BOBDEV"]] }, `failures["${BOB}"][0]`],
  ])("a list form with %s rejects as invalid_reply, saying where", async (_, failures, path) => {
    const error = await (sendAnswered({ failures }, true) as Promise<unknown>).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "ToDeviceSendError", reason: "invalid_reply" });
    expect((error as Error).message).toContain(path);
  });

  test("an answer with the send's request ID but another action rejects", async () => {
    const w = start();
    await host.negotiate(settle);
    const sending = w.send(PING, TO_BOB, { n: 1 });
    await settle();
    const [request] = host.pending("send_to_device");
    if (request === undefined) throw new Error("the send was not posted");
    host.answer(request, {}, "send_event");
    await expect(sending).rejects.toMatchObject({ reason: "invalid_reply" });
    await expect(sending).rejects.toThrow(/send_event/);
  });
});

describe("every wait has an end", () => {
  test("a host that never asks for capabilities: ready rejects at its deadline, a send at its own", async () => {
    const w = start({ readyTimeoutMs: 30_000 });
    const ready = watch(w.ready);
    const sending = w.send(PING, TO_BOB, { n: 1 }, { timeoutMs: 5_000 });
    const sent = watch(sending);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(sent()).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    await expect(sending).rejects.toMatchObject({ reason: "timeout" });
    await expect(sending).rejects.toThrow(/did not finish negotiating.*nothing was sent/);
    await vi.advanceTimersByTimeAsync(24_999);
    expect(ready()).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    await expect(w.ready).rejects.toMatchObject({
      name: "ToDeviceNegotiationError",
      reason: "timeout",
    });
    expect(host.pending("send_to_device")).toEqual([]);
    await noUnhandledRejections();
  });

  test.each([
    ["without supported_versions", {}],
    ["with a number for supported_versions", { supported_versions: 5 }],
    ["with an object for supported_versions", { supported_versions: { a: 1 } }],
    ["with null for supported_versions", { supported_versions: null }],
  ])("a versions answer %s: ready rejects at once, naming it", async (_, response) => {
    const w = start();
    const sending = w.send(PING, TO_BOB, { n: 1 });
    // Handled from here on: the send rejects while the test still lets the host talk.
    const sent = expect(sending).rejects.toMatchObject({ reason: "not_ready" });
    host.request("capabilities", {});
    await settle();
    answerVersions(response);
    await settle();
    await expect(w.ready).rejects.toMatchObject({ reason: "invalid_host_message" });
    await expect(w.ready).rejects.toThrow(/supported_versions/);
    await sent;
    await noUnhandledRejections();
  });

  test("notify_capabilities without data: ready rejects at once, the host gets an error", async () => {
    const w = start();
    host.request("capabilities", {});
    await settle();
    answerVersions({ supported_versions: [...CurrentApiVersions] });
    await settle();
    const notify = host.request("notify_capabilities", undefined);
    await settle();
    await expect(w.ready).rejects.toMatchObject({ reason: "invalid_host_message" });
    expect(host.answerTo(notify)?.response).toEqual({
      error: { message: expect.stringContaining("notify_capabilities") },
    });
    await noUnhandledRejections();
  });

  test("a negotiation that ends after ready's deadline does not count: messages reach no handler", async () => {
    const errors: ToDeviceReceiveError[] = [];
    const w = start({ readyTimeoutMs: 1_000, onError: (error) => errors.push(error) });
    const got: unknown[] = [];
    w.subscribe(PING, (message) => {
      got.push(message);
    });
    const rejected = expect(w.ready).rejects.toMatchObject({ reason: "timeout" });
    await vi.advanceTimersByTimeAsync(1_000);
    await rejected;
    await host.negotiate(settle);
    host.request("send_to_device", { type: PING, sender: BOB, encrypted: true, content: { n: 1 } });
    await settle();
    expect(w.negotiation).toBeUndefined();
    expect(got).toEqual([]);
    // The positive sign that the message was seen, and where it went.
    expect(errors.map((error) => error.reason)).toEqual(["not_negotiated"]);
  });

  test("close() settles ready and every pending send", async () => {
    const w = start();
    const early = w.send(PING, TO_BOB, { n: 1 });
    await expect(Promise.race([w.ready, settle().then(() => "pending")])).resolves.toBe("pending");
    w.close();
    await expect(w.ready).rejects.toMatchObject({ reason: "closed" });
    await expect(early).rejects.toMatchObject({ reason: "closed" });
    await expect(w.send(PING, TO_BOB, { n: 2 })).rejects.toMatchObject({ reason: "closed" });
  });

  test("close() settles a send the host has not answered", async () => {
    const w = start();
    await host.negotiate(settle);
    const sending = w.send(PING, TO_BOB, { n: 1 });
    await settle();
    expect(host.pending("send_to_device")).toHaveLength(1);
    w.close();
    await expect(sending).rejects.toMatchObject({ reason: "closed" });
  });

  describe("wrapping a widget API that has negotiated already", () => {
    async function negotiatedApi(approve: (requested: string[]) => string[]): Promise<void> {
      api.requestCapabilities([`org.matrix.msc3819.send.to_device:${PING}`]);
      api.start();
      await host.negotiate(settle, CurrentApiVersions, approve);
    }

    test("a type the host did not approve: the widget refuses at once", async () => {
      await negotiatedApi(() => []);
      expect(() => start()).toThrow(
        expect.objectContaining({ name: "ToDeviceCapabilityError", reason: "already_negotiated" }),
      );
    });

    test("types it approved: ready rejects at its deadline, saying to wrap before start", async () => {
      await negotiatedApi((requested) => requested);
      const w = start({ receive: [], readyTimeoutMs: 1_000 });
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(w.ready).rejects.toMatchObject({ reason: "timeout" });
      await expect(w.ready).rejects.toThrow(/before api.start\(\)/);
    });
  });
});

test("scoped mode: a message for another room before the negotiation ends reaches no handler", async () => {
  const errors: ToDeviceReceiveError[] = [];
  const w = start({ onError: (error) => errors.push(error) });
  const got: unknown[] = [];
  w.subscribe(PING, (message) => {
    got.push(message.content);
  });
  const scoped = (room_id: string, n: number) => ({ n, scope: { room_id, id: PING } });
  const asked = host.request("capabilities", {});
  await settle();
  answerVersions({ supported_versions: [...CurrentApiVersions, FORMAT_RECIPIENTS, FORMAT_SCOPED] });
  await settle();
  const early = host.request("send_to_device", {
    type: PING,
    sender: BOB,
    encrypted: true,
    content: scoped("!r2:example.org", 1),
  });
  await settle();
  const requested = host.requestedCapabilities(asked);
  host.request("notify_capabilities", { requested, approved: requested });
  await settle();
  expect(await w.ready).toMatchObject({ scoped: true });
  // The barrier: a message for this room, after the negotiation, does arrive.
  host.request("send_to_device", {
    type: PING,
    sender: BOB,
    encrypted: true,
    content: scoped(ROOM, 2),
  });
  await settle();
  expect(got).toEqual([scoped(ROOM, 2)]);
  expect(host.answerTo(early)?.response).toMatchObject({ error: expect.anything() });
  expect(errors.map((error) => error.reason)).toEqual(["not_negotiated"]);
});

test("scoped mode: a message whose scope is malformed is out of scope", async () => {
  const errors: ToDeviceReceiveError[] = [];
  const w = start({ onError: (error) => errors.push(error) });
  const got: unknown[] = [];
  w.subscribe(PING, (message) => {
    got.push(message.content);
  });
  await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS, FORMAT_SCOPED]);
  expect(await w.ready).toMatchObject({ scoped: true });
  // `id` must be a string (section 3.3): the scope is not well-formed, so it names no room.
  for (const scope of [{ room_id: ROOM, id: 42 }, { room_id: [ROOM] }, [ROOM]]) {
    host.request("send_to_device", {
      type: PING,
      sender: BOB,
      encrypted: true,
      content: { n: 1, scope },
    });
  }
  // The barrier: a well-formed scope for this room arrives.
  const barrier = { n: 2, scope: { room_id: ROOM, id: PING } };
  host.request("send_to_device", { type: PING, sender: BOB, encrypted: true, content: barrier });
  await settle();
  expect(got).toEqual([barrier]);
  expect(errors.map((error) => error.reason)).toEqual([
    "out_of_scope",
    "out_of_scope",
    "out_of_scope",
  ]);
});

describe("timeouts longer than a timer holds", () => {
  test.each([
    ["2^31 ms", 2 ** 31],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("a per-send timeoutMs of %s waits instead of failing at once", async (_, timeoutMs) => {
    const w = start();
    await host.negotiate(settle);
    const long = w.send(PING, TO_BOB, { n: 1 }, { timeoutMs });
    const longState = watch(long);
    // The barrier: a send that times out after 20 ms; the long one must outlive it.
    const short = w.send(PING, TO_BOB, { n: 2 }, { timeoutMs: 20 });
    await vi.advanceTimersByTimeAsync(20);
    await expect(short).rejects.toMatchObject({ reason: "timeout" });
    expect(longState()).toBe("pending");
    const [request] = host.pending("send_to_device");
    if (request === undefined) throw new Error("the send was not posted");
    host.answer(request, {});
    await expect(long).resolves.toMatchObject({ failures: {} });
  });

  test.each([
    ["2^31 ms", 2 ** 31],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("a widget-wide sendTimeoutMs of %s waits instead of failing at once", async (_, ms) => {
    const w = start({ sendTimeoutMs: ms });
    await host.negotiate(settle);
    const long = w.send(PING, TO_BOB, { n: 1 });
    const longState = watch(long);
    const short = w.send(PING, TO_BOB, { n: 2 }, { timeoutMs: 20 });
    await vi.advanceTimersByTimeAsync(20);
    await expect(short).rejects.toMatchObject({ reason: "timeout" });
    expect(longState()).toBe("pending");
  });

  test("zero, negative and NaN timeouts are refused with what was wrong", async () => {
    for (const timeoutMs of [0, -1, Number.NaN]) {
      await expect(start().send(PING, TO_BOB, { n: 1 }, { timeoutMs })).rejects.toMatchObject({
        reason: "invalid_request",
        issues: [expect.objectContaining({ path: "timeoutMs" })],
      });
      widget?.close();
    }
    expect(() => start({ sendTimeoutMs: 0 })).toThrow(/sendTimeoutMs/);
  });
});

describe("other misbehaviour in the negotiation", () => {
  test("notify_capabilities with approved: null grants nothing: ready rejects", async () => {
    const w = start();
    host.request("capabilities", {});
    await settle();
    answerVersions({ supported_versions: [...CurrentApiVersions] });
    await settle();
    host.request("notify_capabilities", { requested: [], approved: null });
    await settle();
    await expect(w.ready).rejects.toMatchObject({ reason: "invalid_host_message" });
    await expect(w.ready).rejects.toThrow(/approved/);
    await noUnhandledRejections();
  });

  test("a string supported_versions is not matched by substring: ready rejects", async () => {
    const w = start();
    host.request("capabilities", {});
    await settle();
    answerVersions({ supported_versions: `${FORMAT_RECIPIENTS}_not_really` });
    await settle();
    await expect(w.ready).rejects.toMatchObject({ reason: "invalid_host_message" });
    await noUnhandledRejections();
  });
});

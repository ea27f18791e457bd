// The observer on a widget API that a client owns (here a stand-in for matrix-js-sdk's
// `RoomWidgetClient`: it requests the capabilities and answers every `send_to_device`), against
// a host that says what each test tells it to (fake-host.ts). tooling/interop runs the real
// client against the driver.
import { FORMAT_RECIPIENTS, FORMAT_SCOPED } from "@widget-todevice/codec";
import {
  CurrentApiVersions,
  type IWidgetApiRequest,
  type WidgetApi,
  WidgetApiDirection,
} from "matrix-widget-api";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  observeToDevice,
  type ReceivedToDeviceMessage,
  type ToDeviceObserver,
  type ToDeviceSendError,
} from "../src/index.js";
import { FakeHost, settle } from "./fake-host.js";
import { quietWidgetApiLogs } from "./harness.js";

const KEYS = "io.element.call.encryption_keys";
const OTHER = "org.example.other";
const BOB = "@bob:example.org";

let host: FakeHost;
let api: WidgetApi;
let observer: ToDeviceObserver;
let sendErrors: ToDeviceSendError[];
let got: ReceivedToDeviceMessage[];
/** The requests the client answered, in order. */
let clientAnswered: string[];

beforeEach(() => {
  quietWidgetApiLogs();
  host = new FakeHost();
  api = host.widgetApi();
  sendErrors = [];
  got = [];
  clientAnswered = [];
  observer = observeToDevice(api, {
    receive: [KEYS],
    send: [KEYS],
    onSendError: (error) => sendErrors.push(error),
    onError: () => undefined,
  });
  observer.subscribe(KEYS, (message) => void got.push(message));
  // The client: its capabilities, and an answer to every message, as RoomWidgetClient does.
  for (const type of [KEYS, OTHER]) {
    api.requestCapabilityToSendToDevice(type);
    api.requestCapabilityToReceiveToDevice(type);
  }
  api.on("action:send_to_device", (event: CustomEvent<IWidgetApiRequest>) => {
    event.preventDefault();
    clientAnswered.push(event.detail.requestId);
    api.transport.reply(event.detail, {});
  });
  api.start();
});

afterEach(() => {
  observer.close();
  api.transport.stop();
  host.restore();
});

/** The widget's answers to the host's request `requestId`. */
function answers(requestId: string) {
  return host.posted.filter(
    (m) => m.api === WidgetApiDirection.ToWidget && m.requestId === requestId,
  );
}

describe("the observer beside a client", () => {
  test("answers the versions with recipients, never scoped, and asks for no capability", async () => {
    const asked = host.request("supported_api_versions", {});
    await settle();
    expect(answers(asked)).toHaveLength(1);
    const versions = (answers(asked)[0]?.response as { supported_versions?: string[] } | undefined)
      ?.supported_versions;
    expect(versions).toEqual(expect.arrayContaining([...CurrentApiVersions, FORMAT_RECIPIENTS]));
    expect(versions).not.toContain(FORMAT_SCOPED);

    await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS]);
    const capabilities = host.posted.filter(
      (m) => m.api === WidgetApiDirection.ToWidget && m.action === "capabilities",
    );
    expect(capabilities).toHaveLength(1);
    expect(
      (capabilities[0]?.response as { capabilities?: string[] } | undefined)?.capabilities,
    ).toEqual([
      `org.matrix.msc3819.send.to_device:${KEYS}`,
      `org.matrix.msc3819.receive.to_device:${KEYS}`,
      `org.matrix.msc3819.send.to_device:${OTHER}`,
      `org.matrix.msc3819.receive.to_device:${OTHER}`,
    ]);
    await expect(observer.ready).resolves.toMatchObject({
      granted: { send: [KEYS], receive: [KEYS] },
    });
  });

  test("reads each message with the sender facts of a vouching host; only the client answers", async () => {
    await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS]);
    await observer.ready;
    const message = {
      type: KEYS,
      sender: BOB,
      encrypted: true,
      content: { n: 1 },
      sender_device: "BOBDEV",
      sender_verified: true,
    };
    const first = host.request("send_to_device", message);
    const second = host.request("send_to_device", { ...message, type: OTHER });
    await settle();

    expect(got).toEqual([message]);
    expect(clientAnswered).toEqual([first, second]);
    expect(answers(first)).toHaveLength(1);
    expect(answers(second)).toHaveLength(1);
  });

  test("drops the sender facts of a host that does not vouch for them", async () => {
    await host.negotiate(settle);
    await observer.ready;
    host.request("send_to_device", {
      type: KEYS,
      sender: BOB,
      encrypted: true,
      content: {},
      sender_device: "FORGED",
      sender_verified: true,
    });
    await settle();
    expect(got).toEqual([{ type: KEYS, sender: BOB, encrypted: true, content: {} }]);
  });

  test("reports the client's sends of observed types that did not reach every device, and nothing else", async () => {
    await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS]);
    const answersBy: Array<[string, unknown]> = [
      [KEYS, { failures: { [BOB]: { GONE: "unknown_device" } } }],
      [KEYS, { error: { message: "refused" } }],
      [KEYS, { failures: "everyone" }],
      [KEYS, {}],
      [OTHER, { failures: { [BOB]: { GONE: "unknown_device" } } }],
    ];
    const sends = answersBy.map(([type]) =>
      api.sendToDevice(type, true, { [BOB]: { BOBDEV: {} } }).then(
        () => "resolved",
        () => "rejected",
      ),
    );
    await settle();
    const pending = host.pending("send_to_device");
    expect(pending).toHaveLength(answersBy.length);
    pending.forEach((request, i) => {
      host.answer(request, answersBy[i]?.[1]);
    });

    // What the client's callers see: only the refusal rejects.
    expect(await Promise.all(sends)).toEqual([
      "resolved",
      "rejected",
      "resolved",
      "resolved",
      "resolved",
    ]);
    expect(sendErrors.map((e) => [e.reason, e.type, e.failures])).toEqual([
      ["partial_failure", KEYS, { [BOB]: { GONE: "unknown_device" } }],
      ["host_refused", KEYS, {}],
      ["invalid_reply", KEYS, {}],
    ]);
  });

  test("close() ends the subscriptions and the reports, and the stock version answer is back", async () => {
    await host.negotiate(settle, [...CurrentApiVersions, FORMAT_RECIPIENTS]);
    observer.close();
    const send = api.sendToDevice(KEYS, true, { [BOB]: { BOBDEV: {} } });
    host.request("send_to_device", { type: KEYS, sender: BOB, encrypted: true, content: {} });
    const asked = host.request("supported_api_versions", {});
    await settle();
    const [request] = host.pending("send_to_device");
    if (request !== undefined) host.answer(request, { failures: { [BOB]: { X: "withheld" } } });
    await send;

    expect(got).toEqual([]);
    expect(sendErrors).toEqual([]);
    expect(clientAnswered).toHaveLength(1);
    expect(answers(asked)[0]?.response).toEqual({ supported_versions: CurrentApiVersions });
  });
});

test("refuses a widget API that is already started", () => {
  const started = host.widgetApi();
  started.start();
  try {
    expect(() => observeToDevice(started)).toThrow(/already started/);
  } finally {
    started.transport.stop();
  }
});

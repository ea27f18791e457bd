// Model-based property test: a hostile host (fake-host.ts) sends arbitrary negotiation messages,
// answers, deliveries and garbage, in any order, while fake time passes, against the widget
// package on a real `WidgetApi`. After every step:
// - nothing waits past its deadline: `ready` settles by `readyTimeoutMs`, a send by its timeout;
// - a send resolves only if the host answered it with `{}` or a well-formed failures report (and
//   a non-empty one only with `acceptPartial`), and the receipt says what the host said;
// - a handler sees `sender_device` / `sender_verified` only from a host that advertised a format
//   newer than legacy, and no message scoped to another room in scoped mode;
// - no unhandled rejection and no error thrown out of a message listener.
// Runs: WIDGET_TODEVICE_FUZZ_RUNS (default 100; `pnpm fuzz` runs 5,000). A failure prints its seed;
// WIDGET_TODEVICE_FUZZ_SEED replays it.
import { FORMAT_LEGACY, FORMAT_RECIPIENTS, FORMAT_SCOPED } from "@widget-todevice/codec";
import fc from "fast-check";
import { CurrentApiVersions, type WidgetApi } from "matrix-widget-api";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  type SendReceipt,
  type ToDeviceWidget,
} from "../src/index.js";
import { FakeHost, type Posted, settle } from "./fake-host.js";
import { quietWidgetApiLogs, ROOM, widgetUrl } from "./harness.js";

const RUNS = Number(process.env.WIDGET_TODEVICE_FUZZ_RUNS ?? 100);
const SEED =
  process.env.WIDGET_TODEVICE_FUZZ_SEED === undefined
    ? undefined
    : Number(process.env.WIDGET_TODEVICE_FUZZ_SEED);

const PING = "org.example.ping";
const BOB = "@bob:example.org";
const CAROL = "@carol:example.org";
const OTHER_ROOM = "!r2:example.org";
const READY_TIMEOUT_MS = 3_000;

/** A host's answer, labelled by how it was built: `clean` answers carry their failures. */
interface Tagged {
  readonly value: unknown;
  readonly clean: DeliveryReport | undefined;
}
type DeliveryReport = Readonly<Record<string, Readonly<Record<string, string>>>>;

const userId = fc.constantFrom(BOB, CAROL);
const deviceId = fc.constantFrom("BOBDEV", "LAPTOP", "*");
const reason = fc.constantFrom("unknown_device", "no_olm_session", "http_500");

const cleanAnswer: fc.Arbitrary<Tagged> = fc.oneof(
  fc.constant({ value: {}, clean: {} }),
  fc.constant({ value: { failures: {} }, clean: {} }),
  fc
    .dictionary(userId, fc.dictionary(deviceId, reason, { minKeys: 1 }), { minKeys: 1 })
    .map((failures) => ({ value: { failures }, clean: failures })),
  fc
    .dictionary(userId, fc.uniqueArray(deviceId, { minLength: 1 }), { minKeys: 1 })
    .map((lists) => ({
      value: { failures: lists },
      clean: Object.fromEntries(
        Object.entries(lists).map(([user, devices]) => [
          user,
          Object.fromEntries(devices.map((device) => [device, "unspecified"])),
        ]),
      ),
    })),
);

const malformedAnswer: fc.Arbitrary<Tagged> = fc
  .oneof(
    fc.anything().filter((value) => !isEmptyObject(value) && !isEmptyFailures(value)),
    fc.constantFrom<unknown>(
      "ok",
      null,
      0,
      [],
      { error: "M_FORBIDDEN" },
      { error: { errcode: "M_FORBIDDEN" } },
      { error: { message: 42 } },
      { error: { message: "refused" } },
      { failures: { [BOB]: "BOBDEV" } },
      { failures: [[BOB, "BOBDEV"]] },
      { failures: JSON.parse('{"__proto__": {"BOBDEV": "unknown_device"}}') },
      { failures: { [BOB]: {} } },
      { failures: { "not-a-user": { BOBDEV: "x" } } },
      { failures: { [BOB]: { BOBDEV: 1 } } },
      { failures: { [BOB]: { BOBDEV: "" } } },
      { failures: {}, sent: true },
    ),
  )
  .map((value) => ({ value, clean: undefined }));

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 0
  );
}
function isEmptyFailures(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    isEmptyObject((value as { failures?: unknown }).failures)
  );
}

const versionsAnswer: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .subarray([...CurrentApiVersions, FORMAT_LEGACY, FORMAT_RECIPIENTS, FORMAT_SCOPED])
    .map((versions) => ({ supported_versions: versions })),
  fc.constantFrom<unknown>(
    {},
    { supported_versions: null },
    { supported_versions: 5 },
    { supported_versions: FORMAT_SCOPED },
    { supported_versions: [FORMAT_SCOPED, 1] },
    { error: { message: "unknown action" } },
    "versions",
  ),
  fc.anything(),
);

const deliveredData: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        type: fc.constantFrom(PING, PING, PING, "org.example.other"),
        sender: fc.constantFrom(BOB, BOB, BOB, "not-a-user"),
        encrypted: fc.boolean(),
        content: fc.oneof(
          fc.record({ n: fc.integer() }),
          fc.record({
            n: fc.integer(),
            scope: fc.record({ room_id: fc.constantFrom(ROOM, OTHER_ROOM), id: fc.constant(PING) }),
          }),
        ),
        sender_device: fc.constantFrom("BOBDEV", "FORGED"),
        sender_verified: fc.boolean(),
      },
      { requiredKeys: ["type", "sender", "encrypted", "content"] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

interface SendRecord {
  readonly at: number;
  readonly timeoutMs: number;
  readonly acceptPartial: boolean;
  state: "pending" | "resolved" | "rejected";
  receipt?: SendReceipt;
  /** The widget's `send_to_device` request, once posted. */
  request?: Posted;
  /** Clean answers the host gave this request with the right action. */
  readonly cleanAnswers: DeliveryReport[];
}

/** What the host has done, and what the widget has shown: the model the invariants read. */
interface Model {
  now: number;
  closed: boolean;
  /** A well-formed versions answer from the host named a format newer than legacy. */
  hostAdvertisedNewer: boolean;
  readonly sends: SendRecord[];
  ready: "pending" | "resolved" | "rejected";
}

interface Real {
  readonly host: FakeHost;
  readonly api: WidgetApi;
  readonly widget: ToDeviceWidget;
  readonly received: ReceivedToDeviceMessage[];
  /** Capabilities requests the host sent, by request ID. */
  readonly asked: string[];
  /** Send requests the model already matched to a send. */
  readonly matched: Set<Posted>;
}

type Command = fc.AsyncCommand<Model, Real>;

/** Pairs posted send requests with sends, in order: the widget posts them in call order. */
function matchRequests(model: Model, real: Real): void {
  const posted = real.host.posted.filter(
    (m) => m.api === "fromWidget" && m.action === "send_to_device" && m.response === undefined,
  );
  for (const request of posted) {
    if (real.matched.has(request)) continue;
    const send = model.sends.find((s) => s.request === undefined && s.state === "pending");
    if (send === undefined) break;
    send.request = request;
    real.matched.add(request);
  }
}

async function step(model: Model, real: Real): Promise<void> {
  await settle();
  matchRequests(model, real);
  checkInvariants(model, real);
}

function checkInvariants(model: Model, real: Real): void {
  // No wait past its deadline.
  if (model.now >= READY_TIMEOUT_MS || model.closed) expect(model.ready).not.toBe("pending");
  for (const send of model.sends) {
    if (model.now >= send.at + send.timeoutMs || model.closed) {
      expect(send.state).not.toBe("pending");
    }
    // No success for anything but a clean answer, and the receipt says what the host said.
    if (send.state === "resolved") {
      const failures = send.receipt?.failures ?? {};
      expect(send.cleanAnswers).toContainEqual(failures);
      if (Object.keys(failures).length > 0) expect(send.acceptPartial).toBe(true);
    }
  }
  // A negotiation counts only if `ready` resolved: not after its deadline or a misbehaviour.
  const negotiation = real.widget.negotiation;
  if (model.ready !== "resolved") expect(negotiation).toBeUndefined();
  // No sender fact from a host that did not vouch for it; nothing from another room when scoped.
  for (const message of real.received) {
    if ("sender_device" in message || "sender_verified" in message) {
      expect(model.hostAdvertisedNewer).toBe(true);
      expect(negotiation?.hostFormats.some((format) => format !== "legacy")).toBe(true);
    }
    if (negotiation?.scoped === true) expect(message.scope?.room_id).toBe(ROOM);
  }
}

/** The versions a well-behaved host might advertise. */
const wellFormedVersions = fc
  .subarray([FORMAT_RECIPIENTS, FORMAT_SCOPED])
  .map((newer) => [...CurrentApiVersions, ...newer]);

/** A host that does the whole negotiation right (with versions of its choosing). */
const negotiateCommand = wellFormedVersions.map<Command>((versions) => ({
  check: () => true,
  run: async (model, real) => {
    const asked = real.host.request("capabilities", {});
    real.asked.push(asked);
    await settle();
    for (const request of real.host.pending("supported_api_versions")) {
      real.host.answer(request, { supported_versions: versions });
    }
    if (versions.some((version) => version !== FORMAT_LEGACY && version.includes("msc3819."))) {
      model.hostAdvertisedNewer = true;
    }
    await settle();
    const requested =
      (real.host.answerTo(asked)?.response as { capabilities?: string[] } | undefined)
        ?.capabilities ?? [];
    real.host.request("notify_capabilities", { requested, approved: requested });
    await step(model, real);
  },
  toString: () => `host negotiates with versions ${JSON.stringify(versions)}`,
}));

const sendCommand: fc.Arbitrary<Command> = fc
  .record({ timeoutMs: fc.integer({ min: 1, max: 4_000 }), acceptPartial: fc.boolean() })
  .map<Command>(({ timeoutMs, acceptPartial }) => ({
    check: () => true,
    run: async (model, real) => {
      const record: SendRecord = {
        at: model.now,
        timeoutMs,
        acceptPartial,
        state: "pending",
        cleanAnswers: [],
      };
      model.sends.push(record);
      real.widget.send(PING, { [BOB]: ["BOBDEV"] }, { n: 1 }, { timeoutMs, acceptPartial }).then(
        (receipt) => {
          record.state = "resolved";
          record.receipt = receipt;
        },
        () => {
          record.state = "rejected";
        },
      );
      await step(model, real);
    },
    toString: () => `widget sends (timeout ${timeoutMs} ms, acceptPartial ${acceptPartial})`,
  }));

const answerCommand: fc.Arbitrary<Command> = fc
  .record({
    which: fc.nat(),
    answer: fc.oneof(cleanAnswer, malformedAnswer),
    action: fc.constantFrom("send_to_device", "send_to_device", "send_event"),
  })
  .map<Command>(({ which, answer, action }) => ({
    check: () => true,
    run: async (model, real) => {
      // Mostly the sends still waiting; now and then one that has settled.
      const posted = model.sends.filter((send) => send.request !== undefined);
      const waiting = posted.filter((send) => send.state === "pending");
      const open = waiting.length > 0 && which % 4 !== 0 ? waiting : posted;
      const send = open[which % Math.max(open.length, 1)];
      if (send?.request !== undefined) {
        if (answer.clean !== undefined && action === "send_to_device") {
          // The widget API reuses a request ID once its request settled: the answer goes to
          // whichever send holds that ID now.
          const requestId = send.request.requestId;
          for (const other of model.sends) {
            if (other.request?.requestId === requestId) other.cleanAnswers.push(answer.clean);
          }
        }
        real.host.answer(send.request, answer.value, action);
      }
      await step(model, real);
    },
    toString: () => `host answers a send (${action}) with ${JSON.stringify(answer.value)}`,
  }));

const deliverCommand: fc.Arbitrary<Command> = deliveredData.map<Command>((data) => ({
  check: () => true,
  run: async (model, real) => {
    real.host.request("send_to_device", data);
    await step(model, real);
  },
  toString: () => `host delivers ${JSON.stringify(data)}`,
}));

const commands: fc.Arbitrary<Command>[] = [
  negotiateCommand,
  negotiateCommand,
  fc.constant<Command>({
    check: () => true,
    run: async (model, real) => {
      real.asked.push(real.host.request("capabilities", {}));
      await step(model, real);
    },
    toString: () => "host asks for capabilities",
  }),
  versionsAnswer.map<Command>((answer) => ({
    check: () => true,
    run: async (model, real) => {
      const [request] = real.host.pending("supported_api_versions");
      if (request !== undefined) {
        real.host.answer(request, answer);
        const versions = (answer as { supported_versions?: unknown } | null)?.supported_versions;
        if (
          Array.isArray(versions) &&
          versions.every((version) => typeof version === "string") &&
          versions.some((version) => version === FORMAT_RECIPIENTS || version === FORMAT_SCOPED)
        ) {
          model.hostAdvertisedNewer = true;
        }
      }
      await step(model, real);
    },
    toString: () => `host answers versions with ${JSON.stringify(answer)}`,
  })),
  fc
    .oneof(
      fc.constantFrom<unknown>("all", "none"),
      fc.constantFrom<unknown>(undefined, null, 5, { approved: null }, { approved: "all" }),
    )
    .map<Command>((approval) => ({
      check: () => true,
      run: async (model, real) => {
        const asked = real.asked.at(-1);
        const answer = asked === undefined ? undefined : real.host.answerTo(asked);
        const requested =
          (answer?.response as { capabilities?: string[] } | undefined)?.capabilities ?? [];
        const data =
          approval === "all"
            ? { requested, approved: requested }
            : approval === "none"
              ? { requested, approved: [] }
              : approval;
        real.host.request("notify_capabilities", data);
        await step(model, real);
      },
      toString: () => `host notifies capabilities: ${JSON.stringify(approval)}`,
    })),
  sendCommand,
  sendCommand,
  answerCommand,
  answerCommand,
  deliverCommand,
  deliverCommand,
  fc
    .record({
      api: fc.constantFrom("toWidget", "fromWidget", 1),
      widgetId: fc.constantFrom("w1", "other", undefined),
      requestId: fc.constantFrom("host-x", "widgetapi-0", undefined),
      action: fc.constantFrom(
        "capabilities",
        "notify_capabilities",
        "supported_api_versions",
        "send_to_device",
        "update_visibility",
        "something",
      ),
      data: fc.anything(),
      response: fc.option(fc.anything(), { nil: undefined }),
    })
    .map<Command>((message) => ({
      check: () => true,
      run: async (model, real) => {
        real.host.post(message);
        await step(model, real);
      },
      toString: () => `host posts ${JSON.stringify(message)}`,
    })),
  fc.integer({ min: 1, max: 5_000 }).map<Command>((ms) => ({
    check: () => true,
    run: async (model, real) => {
      await vi.advanceTimersByTimeAsync(ms);
      model.now += ms;
      await step(model, real);
    },
    toString: () => `${ms} ms pass`,
  })),
  fc.constant<Command>({
    check: (model) => !model.closed,
    run: async (model, real) => {
      real.widget.close();
      model.closed = true;
      await step(model, real);
    },
    toString: () => "widget closes",
  }),
];

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
const thrown: unknown[] = [];
const onError = (event: Event): void => {
  thrown.push((event as ErrorEvent).error ?? event);
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  quietWidgetApiLogs();
  process.on("unhandledRejection", onUnhandled);
  window.addEventListener("error", onError);
});

afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  window.removeEventListener("error", onError);
  vi.useRealTimers();
});

test("a hostile host: no hang past a deadline, no unhandled rejection, no success but a clean answer, no unvouched sender fact", {
  timeout: 30_000 + RUNS * 500,
}, async () => {
  await fc.assert(
    fc.asyncProperty(
      // Half the runs open with a proper negotiation, so that sends and deliveries get far.
      fc.option(negotiateCommand, { nil: undefined }),
      fc.commands(commands, { maxCommands: 40, size: "+1" }),
      async (opening, cmds) => {
        unhandled.length = 0;
        thrown.length = 0;
        const host = new FakeHost();
        const api = host.widgetApi();
        const received: ReceivedToDeviceMessage[] = [];
        const model: Model = {
          now: 0,
          closed: false,
          hostAdvertisedNewer: false,
          sends: [],
          ready: "pending",
        };
        try {
          const widget = createToDeviceWidget({
            api,
            url: widgetUrl(),
            send: [PING],
            receive: [PING],
            readyTimeoutMs: READY_TIMEOUT_MS,
            onError: () => {},
          });
          widget.ready.then(
            () => {
              model.ready = "resolved";
            },
            () => {
              model.ready = "rejected";
            },
          );
          widget.subscribe(PING, (message) => {
            received.push(message);
          });
          const real: Real = { host, api, widget, received, asked: [], matched: new Set() };
          await fc.asyncModelRun(
            () => ({ model, real }),
            opening === undefined ? cmds : [opening, ...cmds],
          );
          // Whatever happened, everything settles once every deadline has passed.
          await vi.advanceTimersByTimeAsync(READY_TIMEOUT_MS + 5_000);
          model.now += READY_TIMEOUT_MS + 5_000;
          await step(model, real);
          widget.close();
          await settle();
          // Rejections are reported as unhandled a macrotask after they happen.
          await new Promise((resolve) => setImmediate(resolve));
          expect(unhandled).toEqual([]);
          expect(thrown).toEqual([]);
        } finally {
          api.transport.stop();
          host.restore();
          vi.clearAllTimers();
        }
      },
    ),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
});

/**
 * One run of the model: an in-memory homeserver, Alice's device running the driver with two
 * widgets (one in a room whose encryption flips, one global), Bob's and Carol's devices. Steps
 * are carried out against the real objects; the model predicts what must happen and
 * `check()` compares after every step. Time is fake: retries and `retry_after_ms` cost nothing.
 */
import { vi } from "vitest";
import { MAX_MSGID_LENGTH } from "../../src/duplicate-filter.js";
import {
  type ReceivedToDeviceMessage,
  ToDeviceDriver,
  type ToDeviceTransport,
  validateToDeviceCapabilities,
  type WidgetAttachment,
  type WidgetBinding,
} from "../../src/index.js";
import { InMemoryHomeserver, type InMemoryTransport } from "../../src/testing.js";
import { type Reply, WIDGET_ORIGIN, WidgetFrame } from "../harness/widget-frame.js";
import { overByteBounds } from "./byte-bounds.js";
import {
  type Address,
  ALICE,
  BOB,
  CAROL,
  DENIED,
  type Fault,
  GLOBAL_PING,
  type HostConfig,
  type HostileKind,
  type IncomingSpec,
  isReserved,
  OTHER_ROOM,
  PING,
  RESERVED,
  ROOM,
  type SendSpec,
  type Step,
  UNREQUESTED,
  type WidgetIndex,
} from "./steps.js";

const SEND = (type: string) => `org.matrix.msc3819.send.to_device:${type}`;
const RECEIVE = (type: string) => `org.matrix.msc3819.receive.to_device:${type}`;
const WIDGET_TYPE = "org.example.app";
const LARGE = "x".repeat(70_000);

// Captured before any test fakes timers: a macrotask runs only once every microtask has.
const realSetImmediate = globalThis.setImmediate;
export async function flush(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}

/** A small, seedable PRNG for the driver's jitter, so a seed replays the same timings. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Alice's transport, watched: every request is checked the moment it leaves. */
class ObservedTransport implements ToDeviceTransport {
  private readonly listeners = new Set<(received: ReceivedToDeviceMessage) => void>();

  constructor(
    private readonly inner: InMemoryTransport,
    private readonly onEncrypt: (content: unknown) => void,
    private readonly onLeave: (eventType: string, contents: ReadonlyArray<unknown>) => void,
  ) {}

  getUserDevices: ToDeviceTransport["getUserDevices"] = (userIds, options) =>
    this.inner.getUserDevices(userIds, options);

  encryptToDeviceMessages: ToDeviceTransport["encryptToDeviceMessages"] = (
    type,
    devices,
    content,
  ) => {
    this.onEncrypt(content);
    return this.inner.encryptToDeviceMessages(type, devices, content);
  };

  sendToDevice: ToDeviceTransport["sendToDevice"] = (eventType, messages, txnId) => {
    this.onLeave(
      eventType,
      messages.map((m) => m.content),
    );
    return this.inner.sendToDevice(eventType, messages, txnId);
  };

  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void {
    const off = this.inner.onToDeviceMessage(listener);
    this.listeners.add(listener);
    return () => {
      off();
      this.listeners.delete(listener);
    };
  }

  /** A message as a (buggy or hostile) client stack might hand it over. */
  inject(received: ReceivedToDeviceMessage): void {
    for (const listener of [...this.listeners]) listener(received);
  }
}

type Expectation = "refused" | "answered";

interface SendRecord {
  readonly n: number;
  readonly widget: ModelWidget;
  readonly epoch: number;
  readonly spec: SendSpec | undefined;
  readonly hostile: HostileKind | undefined;
  /** Recipient entries after `*` won over explicit devices of the same user. */
  readonly addressed: ReadonlyArray<Address>;
  readonly expectation: Expectation;
  /** The room's encryption flips counted when the request was posted. */
  readonly flipsAtQueue: number;
  /** Raw requests that share a request ID: their replies cannot be told apart. */
  readonly raw: boolean;
  reply?: Reply;
  countsAtReply?: Map<string, number>;
}

interface ModelWidget {
  readonly index: WidgetIndex;
  readonly frame: WidgetFrame;
  readonly binding: WidgetBinding;
  /** The type it may send (and the wire type of its cleartext requests). */
  readonly ownType: string;
  /** Formats its versions advertise (besides legacy). */
  readonly advertised: ReadonlySet<string>;
  attachment: WidgetAttachment | undefined;
  epoch: number;
  /** Formats the driver knows for it in this attachment. */
  formats: Set<string>;
  /** `sender\ntype\nmsgid` in this attachment: delivered, or maybe (held, then maybe lost). */
  seen: Map<string, "delivered" | "maybe">;
  /** What it must have received, in order: the `data` of each `toWidget` request. */
  readonly expected: Expected[];
}

/** One message a widget must (or, `optional`, may) receive. */
interface Expected {
  readonly data: Record<string, unknown>;
  readonly optional: boolean;
}

const DEVICE_FACTS: Record<string, { device: string; verified: boolean }> = {
  [BOB]: { device: "BOBDEV", verified: true },
  [CAROL]: { device: "CAROLDEV", verified: false },
};

/** The flood of `reattach`: Bob's, encrypted, to both widgets' type. */
const FLOOD: IncomingSpec = {
  via: "olm",
  from: BOB,
  type: "ping",
  scope: "own_room",
  msgid: undefined,
  forged: false,
  copies: 1,
};

/** What the runs exercised, summed over runs: printed, so a vacuous run shows. */
export const coverage = {
  runs: 0,
  steps: 0,
  answeredAllDelivered: 0,
  answeredWithFailures: 0,
  errorWithFailures: 0,
  refused: 0,
  cleartextRequests: 0,
  encryptedRequests: 0,
  homeserverFaults: 0,
  deliveredToWidgets: 0,
};

let runCounter = 0;

export class ModelRun {
  readonly violations: string[] = [];
  private readonly homeserver = new InMemoryHomeserver();
  private readonly alice: InMemoryTransport;
  private readonly devices = new Map<string, InMemoryTransport>();
  private readonly observed: ObservedTransport;
  private readonly driver: ToDeviceDriver;
  private readonly widgets: ModelWidget[] = [];
  private readonly records = new Map<number, SendRecord>();
  private readonly rawReplies = new Map<string, { requests: number; replies: number }>();
  private readonly workedOn = new Set<number>();
  private roomEncrypted: boolean;
  private flips = 0;
  private nextN = 0;
  private nextM = 0;
  private readonly run = ++runCounter;
  private readonly onRawReply = (event: Event) => this.rawReply(event as MessageEvent);

  constructor(private readonly config: HostConfig) {
    this.roomEncrypted = config.roomEncrypted;
    this.alice = this.homeserver.addDevice(ALICE, "ALICEDEV", { verified: true });
    this.devices.set(
      `${BOB}\nBOBDEV`,
      this.homeserver.addDevice(BOB, "BOBDEV", { verified: true }),
    );
    this.devices.set(
      `${BOB}\nBOBPHONE`,
      this.homeserver.addDevice(BOB, "BOBPHONE", { verified: true }),
    );
    this.devices.set(`${CAROL}\nCAROLDEV`, this.homeserver.addDevice(CAROL, "CAROLDEV"));
    this.devices.set(
      `${CAROL}\nCAROLOLD`,
      this.homeserver.addDevice(CAROL, "CAROLOLD", { hasOneTimeKeys: false }),
    );
    this.observed = new ObservedTransport(
      this.alice,
      (content) => this.sawWork(content),
      (eventType, contents) => this.leaving(eventType, contents),
    );
    this.driver = new ToDeviceDriver({
      transport: this.observed,
      encryptionPolicy: config.policy,
      allowGlobalCleartext: config.allowGlobalCleartext,
      logger: { warn: () => undefined, error: () => undefined },
    });
    globalThis.addEventListener("message", this.onRawReply);
  }

  async start(): Promise<void> {
    const formats = { none: [], recipients: ["recipients"], all: ["recipients", "scoped"] };
    this.widgets.push(
      this.makeWidget(0, { roomId: ROOM, roomEncrypted: () => this.roomEncrypted }, PING, [
        ...formats[this.config.roomWidgetFormats],
      ]),
      this.makeWidget(1, { roomId: null, roomEncrypted: false }, GLOBAL_PING, formats.all),
    );
    for (const widget of this.widgets) {
      const loaded = widget.frame.load();
      await flush();
      await loaded;
      await widget.attachment?.negotiated;
    }
  }

  stop(): void {
    coverage.runs++;
    for (const record of this.records.values()) {
      const reply = record.reply;
      if (reply === undefined || record.raw) continue;
      if (reply.ok)
        coverage[
          reply.response.failures === undefined ? "answeredAllDelivered" : "answeredWithFailures"
        ]++;
      else
        coverage[
          reply.message.startsWith("Error sending event") ? "errorWithFailures" : "refused"
        ]++;
    }
    for (const sent of this.homeserver.sendLog) {
      coverage[sent.eventType === "m.room.encrypted" ? "encryptedRequests" : "cleartextRequests"]++;
      if (sent.outcome !== 200) coverage.homeserverFaults++;
    }
    for (const widget of this.widgets) coverage.deliveredToWidgets += widget.frame.received.length;
    globalThis.removeEventListener("message", this.onRawReply);
    this.driver.dispose();
    for (const widget of this.widgets) widget.frame.stop();
  }

  private makeWidget(
    index: WidgetIndex,
    binding: WidgetBinding,
    ownType: string,
    advertised: string[],
  ): ModelWidget {
    const identifiers = advertised.map((f) =>
      f === "recipients" ? "org.matrix.msc3819.recipient_devices" : "org.matrix.msc3819.scoped",
    );
    const careless = this.config.approval === "careless";
    const frame = new WidgetFrame({
      widgetId: `model-${this.run}-${index}`,
      type: WIDGET_TYPE,
      capabilities: [
        SEND(ownType),
        SEND(DENIED),
        ...[PING, GLOBAL_PING, DENIED].map(RECEIVE),
        ...RESERVED.flatMap((type) => [SEND(type), RECEIVE(type)]),
      ],
      advertisesFormats: identifiers.length === 0 ? false : identifiers,
      grant: async (requested) => {
        const allowed = (capability: string) => !capability.endsWith(`:${DENIED}`);
        if (careless) return new Set([...requested].filter(allowed));
        return validateToDeviceCapabilities(requested, (r) => allowed(r.capability));
      },
    });
    // Retries may take the driver's whole 30 s budget: the widget waits longer.
    frame.widgetApi.transport.timeoutSeconds = 3_600;
    frame.clientApi.transport.timeoutSeconds = 3_600;
    const widget: ModelWidget = {
      index,
      frame,
      binding,
      ownType,
      advertised: new Set(advertised),
      attachment: this.driver.attach(frame.clientApi, binding),
      epoch: 0,
      formats: new Set(advertised),
      seen: new Map(),
      expected: [],
    };
    return widget;
  }

  // ---- steps ----

  async apply(step: Step): Promise<void> {
    coverage.steps++;
    switch (step.kind) {
      case "send":
        for (const spec of step.sends) this.send(this.widget(step.widget), spec, undefined);
        break;
      case "reused_id":
        this.reusedId(this.widget(step.widget), step.sends);
        break;
      case "hostile":
        // Without the driver, matrix-widget-api itself answers; some of these it never does.
        if (this.widget(step.widget).attachment !== undefined)
          this.send(this.widget(step.widget), undefined, step.hostile);
        break;
      case "incoming": {
        const arrivals = [];
        for (const event of step.events) arrivals.push(await this.incoming(event));
        for (const arrive of arrivals) arrive();
        break;
      }
      case "flip_room_encryption":
        this.roomEncrypted = !this.roomEncrypted;
        this.flips++;
        break;
      case "faults":
        this.homeserver.failNextSends(...step.faults.map(homeserverFault));
        break;
      case "detach": {
        const widget = this.widget(step.widget);
        widget.attachment?.detach();
        widget.attachment = undefined;
        break;
      }
      case "reattach": {
        const widget = this.widget(step.widget);
        // Attached: a detach comes first (as when a host re-creates its widget driver).
        widget.attachment?.detach();
        widget.attachment = undefined;
        // These arrive before the versions round trip ends: held, then delivered (§7). A sender
        // over its fair share (Bob's flood, 60 KB msgids) may lose its own, never another's.
        const overShare = new Set(
          step.early.filter((event) => event.msgid === "long").map((event) => event.from),
        );
        if (step.flood) overShare.add(BOB);
        const arrivals = [];
        for (const event of step.early)
          arrivals.push(await this.incoming(event, overShare.has(event.from) ? widget : undefined));
        if (step.flood)
          for (let i = 0; i < 150; i++) arrivals.push(await this.incoming(FLOOD, widget));
        widget.attachment = this.driver.attach(widget.frame.clientApi, {
          ...widget.binding,
          alreadyReady: true,
        });
        widget.epoch++;
        widget.formats = new Set(widget.advertised);
        widget.seen = new Map();
        for (const arrive of arrivals) arrive();
        break;
      }
      case "wait":
        await vi.advanceTimersByTimeAsync(step.ms);
        break;
    }
    await flush();
  }

  private widget(index: WidgetIndex): ModelWidget {
    return this.widgets[index] as ModelWidget;
  }

  /** Spends the retry budget of everything in flight. */
  async drain(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(30_000);
      await flush();
    }
  }

  // ---- outgoing ----

  private send(widget: ModelWidget, spec: SendSpec | undefined, hostile: HostileKind | undefined) {
    const n = ++this.nextN;
    const record = this.record(widget, n, spec, hostile, false);
    const data =
      spec === undefined
        ? hostileRequest(hostile as HostileKind, n, widget.ownType)
        : request(widget, spec, n);
    widget.frame.send(data).then(
      (reply) => this.replied(record, reply),
      (error: unknown) => this.violation(record, `the widget got no reply: ${String(error)}`),
    );
  }

  private reusedId(widget: ModelWidget, specs: ReadonlyArray<SendSpec>): void {
    const requestId = `reused-${this.run}-${this.nextN}`;
    this.rawReplies.set(requestId, { requests: specs.length, replies: 0 });
    for (const spec of specs) {
      const n = ++this.nextN;
      this.record(widget, n, spec, undefined, true);
      const message = structuredClone({
        api: "fromWidget",
        widgetId: widget.frame.clientApi.widget.id,
        requestId,
        action: "send_to_device",
        data: request(widget, spec, n),
      });
      queueMicrotask(() =>
        globalThis.dispatchEvent(
          new MessageEvent("message", { data: message, origin: WIDGET_ORIGIN }),
        ),
      );
    }
  }

  private rawReply(event: MessageEvent): void {
    const data = event.data as { api?: string; requestId?: string; response?: unknown };
    if (data?.api !== "fromWidget" || data.response === undefined) return;
    const counter = this.rawReplies.get(data.requestId ?? "");
    if (counter !== undefined) counter.replies++;
  }

  private record(
    widget: ModelWidget,
    n: number,
    spec: SendSpec | undefined,
    hostile: HostileKind | undefined,
    raw: boolean,
  ): SendRecord {
    const addressed = spec === undefined ? [] : normalized(spec.to);
    const record: SendRecord = {
      n,
      widget,
      epoch: widget.epoch,
      spec,
      hostile,
      addressed,
      expectation: spec === undefined ? "refused" : this.expectation(widget, spec),
      flipsAtQueue: this.flips,
      raw,
    };
    this.records.set(n, record);
    // Sending in a format is as good as advertising it (the driver learns it as it reads).
    if (spec !== undefined && widget.attachment !== undefined && readable(spec)) {
      widget.formats.add(spec.format);
    }
    return record;
  }

  /** Section 5's table and section 1, as the model reads them when the request is posted. */
  private expectation(widget: ModelWidget, spec: SendSpec): Expectation {
    if (widget.attachment === undefined || !readable(spec)) return "refused";
    if (spec.format === "scoped" && widget.binding.roomId === null) return "refused";
    return this.policyRefuses(widget, spec) ? "refused" : "answered";
  }

  private policyRefuses(widget: ModelWidget, spec: SendSpec): boolean {
    if (widget.binding.roomId === null)
      return spec.encrypted === false && !this.config.allowGlobalCleartext;
    return this.config.policy === "strict" && this.roomEncrypted && spec.encrypted === false;
  }

  // ---- incoming ----

  /**
   * Makes one incoming event (encrypting it takes a few microtasks) and returns what delivers
   * it, synchronously. `optionalFor`: a widget that may miss it (see `reattach`).
   */
  private async incoming(spec: IncomingSpec, optionalFor?: ModelWidget): Promise<() => void> {
    const m = ++this.nextM;
    const msgid = spec.msgid === "long" ? `${m}:${"L".repeat(60_000)}` : spec.msgid;
    const type =
      typeof spec.type === "object"
        ? spec.type.reserved
        : { ping: PING, global_ping: GLOBAL_PING, denied: DENIED }[spec.type];
    const content: Record<string, unknown> = {
      m,
      ...(spec.forged ? { encrypted: true, sender_device: "EVILDEV", sender_verified: true } : {}),
      ...(spec.scope === "none"
        ? {}
        : { scope: { room_id: spec.scope === "own_room" ? ROOM : OTHER_ROOM, id: WIDGET_TYPE } }),
      ...(msgid === undefined ? {} : { "org.matrix.msgid": msgid }),
    };
    const other = spec.from === BOB ? CAROL : BOB;
    const from = this.devices.get(`${spec.from}\n${DEVICE_FACTS[spec.from]?.device}`);
    if (from === undefined) throw new Error("no such sender");
    let arrive: () => void;
    if (spec.via === "olm" || spec.via === "forged_sender") {
      const batch = await from.encryptToDeviceMessages(
        type,
        [{ userId: ALICE, deviceId: "ALICEDEV" }],
        content as never,
      );
      const envelope = batch.messages[0]?.content;
      if (envelope === undefined) throw new Error("could not encrypt for Alice");
      arrive = () =>
        this.alice.deliver({
          type: "m.room.encrypted",
          // A homeserver naming another sender than the Olm session's: undecryptable.
          sender: spec.via === "olm" ? spec.from : other,
          content: envelope,
        });
    } else if (spec.via === "cleartext") {
      const event = {
        type,
        sender: spec.from,
        content,
        // Event fields a driver must never pass on, whatever they claim.
        ...(spec.forged
          ? { encrypted: true, sender_device: "EVILDEV", keys: { ed25519: "k" }, recipient: ALICE }
          : {}),
      };
      arrive = () => this.alice.deliver(event as never);
    } else {
      arrive = () =>
        this.observed.inject({
          message: { type, sender: spec.from, content },
          encryptionInfo: { sender: other, senderDevice: "EVILDEV", senderVerified: true },
        });
    }
    return () => {
      for (let copy = 0; copy < spec.copies; copy++) {
        arrive();
        if (spec.via === "olm" || spec.via === "cleartext") {
          for (const widget of this.widgets)
            this.expectIncoming(widget, spec, type, content, msgid, widget === optionalFor);
        }
      }
    };
  }

  /** Section 7's filters, in order, as the model reads them. */
  private expectIncoming(
    widget: ModelWidget,
    spec: IncomingSpec,
    type: string,
    content: Record<string, unknown>,
    msgid: string | undefined,
    optional: boolean,
  ): void {
    if (widget.attachment === undefined || isReserved(type)) return;
    if (type !== PING && type !== GLOBAL_PING) return;
    const encrypted = spec.via === "olm";
    if (!encrypted && widget.binding.roomId !== null && this.roomEncrypted) return;
    const scopedMode = widget.binding.roomId !== null && widget.formats.has("scoped");
    if (scopedMode && spec.scope !== "own_room") return;
    let maybeDuplicate = false;
    // A msgid longer than MAX_MSGID_LENGTH is not remembered: every copy is delivered.
    if (msgid !== undefined && msgid.length <= MAX_MSGID_LENGTH) {
      const key = `${spec.from}\n${type}\n${msgid}`;
      const earlier = widget.seen.get(key);
      // A duplicate of a delivered message is dropped; the memory costs a fixed size per
      // msgid, so a run never outgrows it.
      if (earlier === "delivered") return;
      // The first may have been lost before negotiation: then this one is no duplicate.
      maybeDuplicate = earlier === "maybe";
      widget.seen.set(key, optional || maybeDuplicate ? "maybe" : "delivered");
    }
    const facts = DEVICE_FACTS[spec.from];
    const newer = widget.formats.has("recipients") || widget.formats.has("scoped");
    widget.expected.push({
      optional: optional || maybeDuplicate,
      data: {
        type,
        sender: spec.from,
        encrypted,
        content,
        ...(encrypted && newer
          ? { sender_device: facts?.device, sender_verified: facts?.verified }
          : {}),
      },
    });
  }

  // ---- what the model watches ----

  private sawWork(content: unknown): void {
    const n = (content as { n?: unknown } | null)?.n;
    if (typeof n === "number") this.workedOn.add(n);
  }

  /** Every `/sendToDevice` request, the moment it leaves: section 5, whatever was queued. */
  private leaving(eventType: string, contents: ReadonlyArray<unknown>): void {
    if (isReserved(eventType) && eventType !== "m.room.encrypted")
      this.violations.push(`a reserved type left in cleartext: ${eventType}`);
    if (eventType === "m.room.encrypted") return;
    for (const content of contents) {
      this.sawWork(content);
      const n = (content as { n?: unknown }).n;
      const record = typeof n === "number" ? this.records.get(n) : undefined;
      if (record === undefined) {
        this.violations.push(`a cleartext message the model cannot place left: ${eventType}`);
        continue;
      }
      const encrypted = record.spec?.encrypted;
      const label = `request n=${n} (${JSON.stringify(record.spec)})`;
      if (encrypted === true)
        this.violations.push(`${label} asked for encryption but left in cleartext`);
      if (record.widget.binding.roomId === null) {
        if (encrypted !== false || !this.config.allowGlobalCleartext)
          this.violations.push(
            `${label} left in cleartext from a global widget (allowGlobalCleartext: ${this.config.allowGlobalCleartext})`,
          );
      } else if (this.roomEncrypted && (this.config.policy === "strict" || encrypted !== false)) {
        this.violations.push(`${label} left in cleartext while the room is encrypted`);
      }
    }
  }

  private violation(record: SendRecord, what: string): void {
    const from = record.widget.index === 0 ? "room widget" : "global widget";
    const request = record.hostile ?? JSON.stringify(record.spec);
    this.violations.push(`${from}, request n=${record.n} ${request}: ${what}`);
  }

  /** Copies of request `n` each device holds now. */
  private counts(n: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, device] of this.devices) {
      counts.set(
        key,
        device.received.filter(
          (r) => r.message.sender === ALICE && (r.message.content as { n?: unknown }).n === n,
        ).length,
      );
    }
    return counts;
  }

  /** Whether `n` certainly went encrypted (section 5), whatever happened to the room since. */
  private certainlyEncrypted(record: SendRecord): boolean {
    const spec = record.spec;
    if (spec === undefined) return false;
    if (spec.encrypted === true) return true;
    if (record.widget.binding.roomId === null) return spec.encrypted !== false;
    const stable = record.flipsAtQueue === this.flips;
    return (
      stable &&
      this.roomEncrypted &&
      (spec.encrypted === undefined || this.config.policy === "strict")
    );
  }

  /** Section 6: the reply says what the homeserver accepted, device by device. */
  private replied(record: SendRecord, reply: Reply): void {
    record.reply = reply;
    record.countsAtReply = this.counts(record.n);
    const policyMayHaveChanged =
      record.widget.binding.roomId !== null && record.flipsAtQueue !== this.flips;
    const detached = record.widget.attachment === undefined || record.widget.epoch !== record.epoch;
    if (!reply.ok) {
      // A send cancelled by detaching says so in its message; §6's failures cover the rest.
      if (record.expectation === "refused" || policyMayHaveChanged || detached) return;
      if (record.addressed.length === 0) {
        this.violation(
          record,
          `a request to no device was answered with an error: ${reply.message}`,
        );
        return;
      }
      const failures = (reply.data.failures ?? {}) as Record<string, Record<string, unknown>>;
      if (!reply.message.startsWith("Error sending event"))
        this.violation(record, `refused a request the model accepts: ${reply.message}`);
      for (const [user, device] of record.addressed) {
        if (!this.covered(failures, user, device))
          this.violation(
            record,
            `${user} ${device} is missing from the failures of an error reply`,
          );
      }
      return;
    }
    if (record.expectation === "refused" && !policyMayHaveChanged) {
      this.violation(
        record,
        `answered ${JSON.stringify(reply.response)} to a request that must be refused`,
      );
      return;
    }
    const { failures, ...rest } = reply.response as {
      failures?: Record<string, Record<string, unknown>>;
    };
    if (Object.keys(rest).length > 0)
      this.violation(record, `unexpected reply fields ${Object.keys(rest).join(", ")}`);
    if (failures !== undefined) {
      const reasons = Object.values(failures).flatMap((devices) => Object.values(devices));
      if (reasons.length === 0) this.violation(record, "an empty `failures`");
      if (reasons.some((reason) => typeof reason !== "string" || reason === ""))
        this.violation(record, `a failure without a reason: ${JSON.stringify(failures)}`);
    }
    const encrypted = this.certainlyEncrypted(record);
    for (const [user, device] of record.addressed) {
      const reported = this.covered(failures ?? {}, user, device);
      if (record.spec?.large === true && !reported)
        this.violation(
          record,
          `${user} ${device}: a message over the per-message cap was not reported`,
        );
      const targets = device === "*" ? this.homeserver.deviceIds(user) : [device];
      if (device === "*" && targets.length === 0 && encrypted && !reported)
        this.violation(record, `${user} has no devices and that was not reported`);
      for (const target of targets) {
        if (this.reported(failures ?? {}, user, target) || this.reported(failures ?? {}, user, "*"))
          continue;
        const count = record.countsAtReply.get(`${user}\n${target}`);
        if (count === undefined) {
          // A device that does not exist: only a cleartext send may not know that.
          if (encrypted)
            this.violation(record, `${user} ${target} does not exist and was not reported`);
        } else if (target === "CAROLOLD" && encrypted) {
          this.violation(record, `${user} ${target} has no Olm session and was not reported`);
        } else if (count !== 1) {
          this.violation(
            record,
            `${user} ${target} held ${count} copies when the widget was told it was delivered`,
          );
        }
      }
    }
  }

  private reported(
    failures: Record<string, Record<string, unknown>>,
    user: string,
    device: string,
  ) {
    const devices = failures[user];
    return devices !== undefined && Object.hasOwn(devices, device);
  }

  /** An entry (`*` included: as `*` or as every one of the user's devices) is in `failures`. */
  private covered(failures: Record<string, Record<string, unknown>>, user: string, device: string) {
    if (this.reported(failures, user, device)) return true;
    if (device !== "*") return false;
    const all = this.homeserver.deviceIds(user);
    return all.length > 0 && all.every((d) => this.reported(failures, user, d));
  }

  // ---- the invariants, after every step ----

  /** Throws with every violation found; `label` names the step. */
  check(label: string): void {
    this.checkDevices();
    this.checkWidgets();
    this.checkRecords(false);
    this.checkByteBounds();
    if (this.violations.length > 0)
      throw new Error(`after ${label}:\n- ${this.violations.join("\n- ")}`);
  }

  /** After `drain`: every request answered; nothing delivered after a failure was reported. */
  checkEnd(): void {
    this.checkRecords(true);
    for (const [requestId, { requests, replies }] of this.rawReplies) {
      if (replies !== requests)
        this.violations.push(
          `${requests} requests with request ID ${requestId} got ${replies} replies`,
        );
    }
    this.check("the end of the run");
  }

  /** Recipients: no reserved or ungranted type, at most once, in order per widget and device. */
  private checkDevices(): void {
    for (const [key, device] of this.devices) {
      const lanes = new Map<string, number>();
      const seen = new Set<number>();
      for (const { message } of device.received) {
        if (message.sender !== ALICE) continue;
        if (isReserved(message.type) || message.type === DENIED || message.type === UNREQUESTED)
          this.violations.push(`${key.replace("\n", " ")} received a ${message.type} from Alice`);
        const n = (message.content as { n?: unknown }).n;
        const record = typeof n === "number" ? this.records.get(n) : undefined;
        if (record === undefined) continue;
        if (seen.has(record.n))
          this.violation(record, `${key.replace("\n", " ")} received it more than once`);
        seen.add(record.n);
        if (record.hostile !== undefined)
          this.violation(record, `a malformed request was delivered to ${key.replace("\n", " ")}`);
        const lane = `${record.widget.index}/${record.epoch}`;
        if ((lanes.get(lane) ?? 0) > record.n)
          this.violation(record, `${key.replace("\n", " ")} received it after a later message`);
        lanes.set(lane, record.n);
      }
    }
  }

  /** Section 7: exactly what the model expects, field for field, in order. */
  private checkWidgets(): void {
    for (const widget of this.widgets) {
      const got = widget.frame.received;
      const name = widget.index === 0 ? "the room widget" : "the global widget";
      let i = 0;
      let problem: string | undefined;
      for (const want of widget.expected) {
        if (i < got.length && sameJson(got[i], want.data)) i++;
        else if (!want.optional) {
          problem = `got ${brief(got[i])}, the model expects ${brief(want.data)}`;
          break;
        }
      }
      if (problem === undefined && i < got.length)
        problem = `got ${brief(got[i])}, which the model does not expect`;
      if (problem !== undefined) this.violations.push(`${name}'s message #${i + 1}: ${problem}`);
    }
  }

  /** Copies of every request each device holds: n -> device -> count. */
  private receivedIndex(): Map<number, Map<string, number>> {
    const index = new Map<number, Map<string, number>>();
    for (const [key, device] of this.devices) {
      for (const { message } of device.received) {
        const n = (message.content as { n?: unknown }).n;
        if (message.sender !== ALICE || typeof n !== "number") continue;
        let counts = index.get(n);
        if (counts === undefined) {
          counts = new Map();
          index.set(n, counts);
        }
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return index;
  }

  private checkRecords(end: boolean): void {
    const index = this.receivedIndex();
    for (const record of this.records.values()) {
      if (record.reply === undefined) {
        if (end && !record.raw) this.violation(record, "never answered");
        continue;
      }
      if (record.raw) continue;
      const now = index.get(record.n) ?? new Map<string, number>();
      const refused = !record.reply.ok && !record.reply.message.startsWith("Error sending event");
      if ((record.hostile !== undefined || refused) && this.workedOn.has(record.n))
        this.violation(record, "refused only after work was done for it (limits come first, §8)");
      if (record.hostile !== undefined && record.reply.ok)
        this.violation(
          record,
          `a malformed request was answered ${JSON.stringify(record.reply.response)}`,
        );
      const failures = (
        record.reply.ok ? record.reply.response.failures : record.reply.data.failures
      ) as Record<string, Record<string, unknown>> | undefined;
      for (const [key, count] of now) {
        if (count <= (record.countsAtReply?.get(key) ?? 0)) continue;
        const [user, device] = key.split("\n") as [string, string];
        // `outcome_unknown`: the answer was lost or late, so delivery may follow (§6).
        const reason = failures?.[user]?.[device] ?? failures?.[user]?.["*"];
        if (reason === "outcome_unknown") continue;
        if (!record.reply.ok)
          this.violation(record, `${user} ${device} received it after an error reply`);
        else if (reason !== undefined)
          this.violation(
            record,
            `${user} ${device} received it after it was reported failed (${String(reason)})`,
          );
      }
    }
  }

  /** Host memory for buffers and de-duplication stays within its documented bound. */
  private checkByteBounds(): void {
    for (const widget of this.widgets) {
      for (const over of overByteBounds(widget.attachment))
        this.violations.push(
          `${widget.index === 0 ? "the room widget" : "the global widget"} ${over}`,
        );
    }
  }
}

/** JSON, with long strings cut (a 60 KB msgid helps no one read a report). */
function brief(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "string" && v.length > 80 ? `${v.slice(0, 40)}...(${v.length} chars)` : v,
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** Whether the request passes the driver's request checks (codec and capability). */
function readable(spec: SendSpec): boolean {
  return spec.type === "own" && !(spec.format === "legacy" && spec.encrypted === undefined);
}

/** `*` wins over explicit devices of the same user, so every generated request is valid. */
function normalized(to: ReadonlyArray<Address>): Address[] {
  const all = new Set(to.filter(([, device]) => device === "*").map(([user]) => user));
  return to.filter(([user, device]) => device === "*" || !all.has(user));
}

function typeOf(widget: ModelWidget, spec: SendSpec): string {
  if (spec.type === "own") return widget.ownType;
  if (spec.type === "denied") return DENIED;
  if (spec.type === "unrequested") return UNREQUESTED;
  return spec.type.reserved;
}

function request(widget: ModelWidget, spec: SendSpec, n: number): Record<string, unknown> {
  const content = { n, ...(spec.large ? { pad: LARGE } : {}) };
  const addressed = normalized(spec.to);
  const type = typeOf(widget, spec);
  const flag = spec.encrypted === undefined ? {} : { encrypted: spec.encrypted };
  if (spec.format === "legacy") {
    const messages: Record<string, Record<string, unknown>> = {};
    for (const [user, device] of addressed) {
      messages[user] ??= {};
      (messages[user] as Record<string, unknown>)[device] = content;
    }
    return { type, ...flag, messages };
  }
  const recipient_devices: Record<string, string[]> = {};
  for (const [user, device] of addressed) {
    recipient_devices[user] ??= [];
    recipient_devices[user]?.push(device);
  }
  return {
    type,
    ...flag,
    recipient_devices,
    content,
    ...(spec.format === "scoped" ? { scope: n % 2 === 0 ? {} : { id: WIDGET_TYPE } } : {}),
  };
}

function nested(depth: number, n: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { inner: value };
  return { n, value };
}

/** Hostile requests, each carrying `n` where it has a content, so a delivery would show. */
function hostileRequest(kind: HostileKind, n: number, type: string): unknown {
  const content = { n };
  const messages = { [BOB]: { BOBDEV: content } };
  const recipients = { [BOB]: ["BOBDEV"] };
  switch (kind) {
    case "no_data":
      return undefined;
    case "data_string":
      return "hello";
    case "type_number":
      return { type: 5, encrypted: true, messages };
    case "bad_user_id":
      return { type, encrypted: true, messages: { bob: { BOBDEV: content } } };
    case "star_mixed":
      return { type, recipient_devices: { [BOB]: ["*", "BOBDEV"] }, content };
    case "duplicate_device":
      return { type, recipient_devices: { [BOB]: ["BOBDEV", "BOBDEV"] }, content };
    case "both_formats":
      return { type, encrypted: true, messages, recipient_devices: recipients, content };
    case "unknown_field":
      return { type, encrypted: true, messages, extra: 1 };
    case "deep_content":
      return { type, recipient_devices: recipients, content: nested(40, n) };
    case "scope_room_id":
      return {
        type,
        recipient_devices: recipients,
        content,
        scope: { room_id: OTHER_ROOM },
      };
    case "content_scope":
      return {
        type,
        encrypted: true,
        messages: { [BOB]: { BOBDEV: { n, scope: { room_id: OTHER_ROOM } } } },
      };
    case "encrypted_string":
      return { type, encrypted: "yes", recipient_devices: recipients, content };
    case "oversized_string":
      return { type, recipient_devices: recipients, content: { n, big: "x".repeat(1_100_000) } };
    case "oversized_nulls":
      // 1.5 MB of JSON without a single long string (§8: the byte limit counts everything).
      return {
        type,
        recipient_devices: recipients,
        content: { n, nulls: new Array<null>(300_000).fill(null) },
      };
    case "oversized_numbers":
      return {
        type,
        recipient_devices: recipients,
        content: { n, numbers: Array.from({ length: 150_000 }, (_, i) => 1_000_000 + i) },
      };
  }
}

function homeserverFault(fault: Fault) {
  switch (fault.kind) {
    case "rate_limited":
      // Without `retry_after_ms` the homeserver leaves the wait to the client.
      return { kind: "rate_limited", retryAfterMs: fault.retryAfterMs } as {
        kind: "rate_limited";
        retryAfterMs: number;
      };
    case "http_error":
      return { kind: "http_error", status: fault.status } as const;
    case "slow":
      return { kind: "slow", delayMs: fault.delayMs } as const;
    case "connection_dropped":
      return { kind: "connection_dropped", afterDelivery: fault.afterDelivery } as const;
  }
}

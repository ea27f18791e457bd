/**
 * The "abuse" table: hostile requests against a host running the driver on the in-memory
 * homeserver, each beside a normal send measured in the same run. For each: the host's longest
 * synchronous stretch while handling it (target: under 50 ms) and the bytes it retains per widget
 * afterwards (target: under 8 MiB).
 *
 * - Longest synchronous stretch: a probe re-queues itself with `setImmediate`, so it runs once
 *   per turn of the event loop; the longest gap between two of its runs, from the moment the
 *   request is posted to the host until the host answered (for incoming messages: until the
 *   router handled them), is the longest time the host kept the loop.
 * - Retained bytes: the heap after `global.gc()`, once the scenario is over, minus the heap
 *   before it, with the world (homeserver, driver, widget) alive in both; the logs the test
 *   doubles keep (received messages) are cleared first. The driver's own account
 *   (`stats.retained`) is printed beside it.
 *
 * Requests go to the host as one `message` event each, as a browser delivers a postMessage, so
 * the widget side's cloning is not counted; the host's reply is (a browser clones it too, and
 * matrix-widget-api's reply carries the request's `data` back).
 * `/sendToDevice` requests end in a sink that counts them: no homeserver memory is measured.
 * Long strings are flat and distinct (`text`), as JSON.parse and structured clone make them:
 * `"x".repeat(n)` would share one rope and hide what a host keeps.
 *
 * Run: `pnpm --filter @widget-todevice/driver bench:abuse`, or `pnpm bench` (run.ts runs it after
 * its tables). Started without `--expose-gc`, it runs itself again with it.
 */
import "@widget-todevice/matrix-clients/node-window";
import { spawnSync } from "node:child_process";
import { setImmediate as nextTask } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  type ReceivedToDeviceMessage,
  ToDeviceDriver,
  type ToDeviceTransport,
  type WidgetAttachment,
} from "../src/index.js";
import { InMemoryHomeserver, type InMemoryTransport } from "../src/testing.js";
import { WIDGET_ORIGIN, WidgetFrame } from "../test/harness/widget-frame.js";

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const ROOM = "!r1:example.org";
const PING = "org.example.ping";
const MAX_STRETCH_MS = 50;
const MAX_RETAINED_BYTES = 8 * 1024 * 1024;

// matrix-widget-api logs every postMessage.
console.log = () => undefined;
const print = (line = "") => process.stdout.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc;

/** Alice's transport, with `/sendToDevice` ending in a counting sink. */
class SinkTransport implements ToDeviceTransport {
  requests = 0;
  messages = 0;
  constructor(private readonly inner: InMemoryTransport) {}
  getUserDevices: ToDeviceTransport["getUserDevices"] = (u, o) => this.inner.getUserDevices(u, o);
  encryptToDeviceMessages: ToDeviceTransport["encryptToDeviceMessages"] = (t, d, c) =>
    this.inner.encryptToDeviceMessages(t, d, c);
  sendToDevice: ToDeviceTransport["sendToDevice"] = async (_type, messages) => {
    this.requests++;
    this.messages += messages.length;
    // An HTTP round trip: the answer comes in a later task.
    await nextTask();
  };
  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void {
    return this.inner.onToDeviceMessage(listener);
  }
}

interface World {
  readonly homeserver: InMemoryHomeserver;
  readonly alice: InMemoryTransport;
  readonly sink: SinkTransport;
  readonly driver: ToDeviceDriver;
  readonly frame: WidgetFrame;
  readonly attachment: WidgetAttachment;
}

let worlds = 0;

async function world(options: { bobDevices?: number; load?: boolean } = {}): Promise<World> {
  const homeserver = new InMemoryHomeserver();
  const alice = homeserver.addDevice(ALICE, "ALICEDEV");
  for (let i = 0; i < (options.bobDevices ?? 10); i++) homeserver.addDevice(BOB, `BOB${i}`);
  const sink = new SinkTransport(alice);
  const driver = new ToDeviceDriver({
    transport: sink,
    logger: { warn: () => undefined, error: () => undefined },
  });
  const frame = new WidgetFrame({
    widgetId: `abuse-${++worlds}`,
    capabilities: [
      `org.matrix.msc3819.send.to_device:${PING}`,
      `org.matrix.msc3819.receive.to_device:${PING}`,
    ],
    advertisesFormats: true,
  });
  // Unencrypted room: cleartext is allowed, so the cleartext paths are measured too.
  const attachment = driver.attach(frame.clientApi, { roomId: ROOM, roomEncrypted: false });
  if (options.load !== false) {
    await frame.load();
    await attachment.negotiated;
  }
  return { homeserver, alice, sink, driver, frame, attachment };
}

function dispose(w: World): void {
  w.driver.dispose();
  w.frame.stop();
}

let requestCounter = 0;

/** Posts `data` to the host as the widget's `send_to_device`; resolves with the host's answer. */
function post(w: World, data: unknown): Promise<unknown> {
  const requestId = `abuse-request-${++requestCounter}`;
  return new Promise((resolve) => {
    const onMessage = (event: Event) => {
      const message = (event as MessageEvent).data as { requestId?: string; response?: unknown };
      if (message?.requestId !== requestId || message.response === undefined) return;
      globalThis.removeEventListener("message", onMessage);
      resolve(message.response);
    };
    globalThis.addEventListener("message", onMessage);
    globalThis.dispatchEvent(
      new MessageEvent("message", {
        data: {
          api: "fromWidget",
          widgetId: w.frame.clientApi.widget.id,
          requestId,
          action: "send_to_device",
          data,
        },
        origin: WIDGET_ORIGIN,
      }),
    );
  });
}

/** Delivers messages to Alice's client a /sync batch (100) per task, as a client would. */
async function arrive(w: World, count: number, make: (i: number) => object): Promise<void> {
  for (let i = 0; i < count; i++) {
    w.alice.deliver({ type: PING, sender: BOB, content: make(i) as never });
    if (i % 100 === 99) await nextTask();
  }
}

/** A flat string of `length` one-byte characters, distinct per call (it starts with a counter). */
let textCounter = 0;
function text(length: number): string {
  const bytes = Buffer.alloc(length, 97 + (textCounter % 26));
  bytes.write(`${textCounter++}:`.slice(0, length), "latin1");
  return bytes.toString("latin1");
}

/** The longest gap between turns of the event loop while it runs. */
class LoopProbe {
  private longest = 0;
  private last = performance.now();
  private running = true;
  private readonly done: Promise<void>;

  constructor() {
    this.done = (async () => {
      while (this.running) {
        await nextTask();
        const now = performance.now();
        this.longest = Math.max(this.longest, now - this.last);
        this.last = now;
      }
    })();
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.done;
    return this.longest;
  }
}

interface Measurement {
  readonly name: string;
  readonly stretchMs: number;
  readonly retainedBytes: number;
  /** What the driver says it keeps for the widget (`stats.retained`). */
  readonly driverBytes: number;
  readonly outcome: string;
}

/**
 * Runs `scenario` on a fresh world: the longest synchronous stretch while it runs, and the heap
 * the world keeps afterwards.
 */
async function measure(
  name: string,
  options: Parameters<typeof world>[0],
  scenario: (w: World) => Promise<string>,
): Promise<Measurement> {
  const w = await world(options);
  await settle();
  const before = heap();
  const probe = new LoopProbe();
  await nextTask();
  const outcome = await scenario(w);
  await settle();
  const stretchMs = await probe.stop();
  // Test doubles' logs are not the host's memory.
  w.alice.received.length = 0;
  w.frame.received.length = 0;
  const retainedBytes = heap() - before;
  const driverBytes = w.attachment.stats.retained.retainedBytes;
  dispose(w);
  return {
    name,
    stretchMs,
    retainedBytes: Math.max(0, retainedBytes),
    driverBytes,
    outcome,
  };
}

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await nextTask();
}

function summary(response: unknown): string {
  const r = response as { error?: { message?: string }; failures?: Record<string, object> };
  if (r.error !== undefined) return `error: ${String(r.error.message).slice(0, 60)}`;
  if (r.failures === undefined) return "{}";
  const count = Object.values(r.failures).reduce((n, d) => n + Object.keys(d).length, 0);
  return `${count} failures`;
}

// The widget advertises the scoped format: what it receives must be scoped to its room.
const scope = { room_id: ROOM, id: "org.example.app" };
const devices = (n: number) => Array.from({ length: n }, (_, i) => `BOB${i}`);
const sendTo = (ids: string[], content: object, encrypted?: boolean) => ({
  type: PING,
  ...(encrypted === undefined ? {} : { encrypted }),
  recipient_devices: { [BOB]: ids },
  content,
});

async function main(): Promise<void> {
  const started = Date.now();
  const rows: Measurement[] = [];
  const sent = (w: World, response: unknown) =>
    `${summary(response)}; ${w.sink.requests} /sendToDevice, ${w.sink.messages} messages`;

  rows.push(
    await measure("normal: 270 B encrypted to 9 devices", {}, async (w) => {
      const content = { keys: [{ index: 0, key: text(44) }], pad: text(200) };
      return sent(w, await post(w, sendTo(devices(9), content, true)));
    }),
  );
  rows.push(
    await measure("60 KB cleartext to 10,000 explicit devices", { bobDevices: 10_000 }, async (w) =>
      sent(w, await post(w, sendTo(devices(10_000), { a: text(60_000) }, false))),
    ),
  );
  rows.push(
    await measure("880 KB encrypted to 200 devices", { bobDevices: 200 }, async (w) =>
      sent(w, await post(w, sendTo(devices(200), { a: text(880_000) }, true))),
    ),
  );
  rows.push(
    await measure("codec: a 50 MB object key", {}, async (w) => {
      const content = { [text(50_000_000)]: 1 };
      return sent(w, await post(w, sendTo(["BOB0"], content, true)));
    }),
  );
  rows.push(
    await measure("codec: 1,000,000 numbers", {}, async (w) => {
      const content = { n: Array.from({ length: 1_000_000 }, (_, i) => i) };
      return sent(w, await post(w, sendTo(["BOB0"], content, true)));
    }),
  );
  rows.push(
    await measure("codec: a million nulls", {}, async (w) => {
      const content = { n: new Array<null>(1_000_000).fill(null) };
      return sent(w, await post(w, sendTo(["BOB0"], content, true)));
    }),
  );
  rows.push(
    await measure("1,000 cleartext messages, 60 KB msgids", {}, async (w) => {
      await arrive(w, 1_000, () => ({ "org.matrix.msgid": text(60_000), scope }));
      return `${w.attachment.stats.delivered} delivered`;
    }),
  );
  rows.push(
    await measure("100 pre-negotiation 60 KB messages, one sender", { load: false }, async (w) => {
      await arrive(w, 100, (i) => ({ i, pad: text(60_000), scope }));
      return "held (widget not loaded)";
    }),
  );
  rows.push(
    await measure("10,000 x 10,000 explicit device check", { bobDevices: 10_000 }, async (w) => {
      // Alice tracks Bob, so a cleartext send checks every device against his list.
      await w.alice.getUserDevices([BOB], { downloadUncached: true });
      return sent(w, await post(w, sendTo(devices(10_000), { n: 1 }, false)));
    }),
  );

  const normal = rows[0] as Measurement;
  print();
  print(
    "Abuse: hostile requests on the in-memory homeserver, beside a normal send in the same run",
  );
  print(
    `targets: longest synchronous stretch < ${MAX_STRETCH_MS} ms, retained per widget < ${MAX_RETAINED_BYTES / 1024 / 1024} MiB`,
  );
  print();
  table(
    [
      "request",
      "longest sync ms",
      "x normal",
      "target",
      "retained KiB",
      "driver KiB",
      "target",
      "outcome",
    ],
    rows.map((r) => [
      r.name,
      r.stretchMs.toFixed(1),
      (r.stretchMs / Math.max(normal.stretchMs, 1)).toFixed(1),
      r.stretchMs < MAX_STRETCH_MS ? "met" : "MISSED",
      (r.retainedBytes / 1024).toFixed(0),
      (r.driverBytes / 1024).toFixed(0),
      r.retainedBytes < MAX_RETAINED_BYTES ? "met" : "MISSED",
      r.outcome,
    ]),
  );
  print();
  print(`abuse bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`;
  print(line(head));
  print(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) print(line(row));
}

if (gc === undefined) {
  // Started without `--expose-gc` (e.g. by run.ts): run again with it.
  const again = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url)],
    { stdio: "inherit", env: process.env },
  );
  process.exit(again.status ?? 1);
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * The driver on matrix-js-sdk against a real Synapse it starts itself, with real Olm.
 *
 * (a) For N = 2, 20, 100, 300 recipient devices: time from a widget's `send_to_device` request
 *     to the driver's reply, as a ratio to matrix-js-sdk encrypting and sending the same message
 *     directly (`encryptToDeviceMessages` + one `sendToDevice`, awaited) in the same run.
 * (b) `/sendToDevice` requests the driver made, against the minimum its count and byte limits
 *     allow.
 * (c) An Element Call key rotation: 10 participants, each sending one ~270-byte key to the 9
 *     others at once; time until every participant's widget has every key.
 * (d) The same rotation across federation: two Synapse servers federating over loopback, five
 *     participants on each, in one room spanning both; beside (c), measured in the same run.
 *
 * Run: `pnpm --filter @widget-todevice/driver bench` (builds first through turbo).
 */
import "@widget-todevice/matrix-clients/node-window";
import { DEFAULT_CHUNK_LIMITS, ToDeviceDriver } from "@widget-todevice/driver";
import { MatrixJsSdkTransport } from "@widget-todevice/driver/matrix-js-sdk";
import {
  type HomeserverClient,
  homeserverClient,
  startFederation,
  startHomeserver,
} from "@widget-todevice/homeserver";
import { FaultProxy } from "@widget-todevice/matrix-clients/fault-proxy";
import { type LightDevice, lightFleet } from "@widget-todevice/matrix-clients/light-device";
import {
  encryptedRoom,
  recipientDevices,
  type StartedClient,
  startClient,
} from "@widget-todevice/matrix-clients/matrix";
import { WidgetFrame } from "../test/harness/widget-frame.js";

const PING = "org.example.ping";
const KEY_TYPE = "io.element.call.encryption_keys";
const quietLogger = { warn: () => undefined, error: (m: string) => console.error(m) };
// matrix-widget-api logs every postMessage.
console.log = () => undefined;
const print = (line = "") => process.stdout.write(`${line}\n`);
// matrix-js-sdk's MatrixRTC logs every room it sees through a logger no option reaches.
const debugLog = console.debug;
console.debug = (...args: unknown[]) => {
  if (!String(args[0]).startsWith("[MatrixRTCSession")) debugLog(...args);
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function widgetOn(driver: ToDeviceDriver, roomId: string, capabilities: string[]) {
  const frame = new WidgetFrame({
    widgetId: `bench-${Math.random().toString(36).slice(2)}`,
    capabilities,
    advertisesFormats: ["org.matrix.msc3819.recipient_devices"],
  });
  const attachment = driver.attach(frame.clientApi, { roomId, roomEncrypted: true });
  await frame.load();
  await attachment.negotiated;
  return frame;
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = await startHomeserver({ log: () => undefined });
  const hs = homeserverClient(server.info());
  const proxy = await FaultProxy.start(hs.baseUrl);
  try {
    // ---- (a) and (b): one sender, 300 light recipient devices of 3 users ----
    const alice = await startClient(await hs.registerUser(), {
      homeserver: hs,
      baseUrl: proxy.url,
    });
    const fleet: LightDevice[] = await lightFleet(hs, 3, 100);
    // The recipients share an encrypted room with Alice, as call participants do, so their
    // device lists are tracked through /sync.
    const users = [...new Set(fleet.map((d) => d.userId))];
    const room = await sharedRoom(alice, users, hs.baseUrl, fleet);
    const transport = new MatrixJsSdkTransport(alice.client, { logger: quietLogger });
    const driver = new ToDeviceDriver({ transport, logger: quietLogger });
    const frame = await widgetOn(driver, room, [`org.matrix.msc3819.send.to_device:${PING}`]);
    const crypto = alice.client.getCrypto();
    if (crypto === undefined) throw new Error("no crypto");

    const content = {
      call_id: "",
      device_id: alice.deviceId,
      keys: [{ index: 0, key: "k".repeat(44) }],
    };
    const rows: string[][] = [];
    let txn = 0;
    for (const n of [2, 20, 100, 300]) {
      const devices = fleet.slice(0, n).map((d) => ({ userId: d.userId, deviceId: d.deviceId }));
      const recipient_devices = recipientDevices(devices);
      const viaDriver = async () => {
        const t0 = performance.now();
        const reply = await frame.send({ type: PING, recipient_devices, content });
        const ms = performance.now() - t0;
        if (!reply.ok || Object.keys(reply.response).length > 0)
          throw new Error(`driver send failed: ${JSON.stringify(reply)}`);
        return ms;
      };
      const direct = async () => {
        const t0 = performance.now();
        const batch = await crypto.encryptToDeviceMessages(PING, devices, content);
        const map = new Map<string, Map<string, Record<string, unknown>>>();
        for (const m of batch.batch) {
          const perUser = map.get(m.userId) ?? new Map<string, Record<string, unknown>>();
          perUser.set(m.deviceId, m.payload);
          map.set(m.userId, perUser);
        }
        await alice.client.sendToDevice(
          batch.eventType,
          map,
          `bench-direct-${Date.now()}-${txn++}`,
        );
        if (batch.batch.length !== n) throw new Error(`direct: ${batch.batch.length} of ${n}`);
        return performance.now() - t0;
      };
      // Warm up both paths (Olm sessions are made on the first send).
      await viaDriver();
      await direct();
      const rounds = n >= 100 ? 7 : 15;
      const driverTimes: number[] = [];
      const directTimes: number[] = [];
      const requestCounts: number[] = [];
      let bytes = 0;
      for (let i = 0; i < rounds; i++) {
        const before = proxy.sends.length;
        driverTimes.push(await viaDriver());
        const made = proxy.sends.slice(before);
        requestCounts.push(made.length);
        bytes = made.reduce((sum, s) => sum + s.bodyBytes, 0);
        directTimes.push(await direct());
      }
      const minimum = Math.max(
        Math.ceil(n / DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest),
        Math.ceil(bytes / DEFAULT_CHUNK_LIMITS.maxBytesPerRequest),
      );
      const d = median(driverTimes);
      const b = median(directTimes);
      rows.push([
        String(n),
        d.toFixed(1),
        b.toFixed(1),
        (d / b).toFixed(2),
        String(median(requestCounts)),
        String(minimum),
        (bytes / 1024).toFixed(0),
      ]);
    }
    driver.dispose();
    frame.stop();

    print();
    print("(a) widget request -> driver reply vs matrix-js-sdk encrypt + sendToDevice (medians)");
    print("(b) /sendToDevice requests per send vs the minimum the limits allow");
    print(
      `limits: ${DEFAULT_CHUNK_LIMITS.maxMessagesPerRequest} messages, ${DEFAULT_CHUNK_LIMITS.maxBytesPerRequest / 1024} KiB per request`,
    );
    print();
    table(["devices", "driver ms", "direct ms", "ratio", "requests", "minimum", "KiB sent"], rows);

    // ---- (c) Element Call key rotation, and (d) the same across federation ----
    const rotation = await keyRotation([hs]);
    const federation = await startFederation({ servers: 2, log: () => undefined });
    let federated: number[];
    try {
      federated = await keyRotation(federation.servers.map((s) => homeserverClient(s.info())));
    } finally {
      await federation.stop();
    }
    print();
    print("(c) Element Call key rotation: 10 participants, each key to the 9 others at once");
    print("(d) the same, 5 participants on each of two Synapse servers federating over loopback");
    table(
      ["run", "(c) one server: all 90 keys (ms)", "(d) federated: all 90 keys (ms)"],
      rotation.map((ms, i) => [
        String(i + 1),
        ms.toFixed(0),
        (federated[i] ?? Number.NaN).toFixed(0),
      ]),
    );
    print(
      `(c) median ${median(rotation).toFixed(0)} ms, max ${Math.max(...rotation).toFixed(0)} ms; (d) median ${median(federated).toFixed(0)} ms, max ${Math.max(...federated).toFixed(0)} ms`,
    );
    print();
    print(`bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await proxy.stop();
    await server.stop();
  }
  process.exit(0);
}

/** Alice's encrypted room with `users` joined (light devices join over the plain HTTP API). */
async function sharedRoom(
  alice: StartedClient,
  users: string[],
  baseUrl: string,
  fleet: LightDevice[],
): Promise<string> {
  const roomId = await encryptedRoom(alice, [], true);
  for (const userId of users) {
    await alice.client.invite(roomId, userId);
    const member = fleet.find((d) => d.userId === userId) as LightDevice;
    const response = await fetch(
      `${baseUrl}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${member.session.accessToken}`,
          "content-type": "application/json",
        },
        body: "{}",
      },
    );
    if (!response.ok) throw new Error(`join: ${response.status}`);
  }
  const deadline = Date.now() + 15_000;
  while (!users.every((u) => alice.client.getRoom(roomId)?.getMember(u)?.membership === "join")) {
    if (Date.now() > deadline) throw new Error("joins not seen");
    await sleep(20);
  }
  return roomId;
}

/**
 * An encrypted room across servers: members join one at a time, each once the owner's client saw
 * the previous join. (Joined back to back, a join from the second server was seen late or not at
 * all by some clients in our runs: see the driver README.)
 */
async function spanningRoom(owner: StartedClient, members: StartedClient[]): Promise<string> {
  const roomId = await encryptedRoom(owner, [], true);
  for (const member of members) {
    await owner.client.invite(roomId, member.userId);
    await member.client.joinRoom(roomId);
    const deadline = Date.now() + 30_000;
    while (owner.client.getRoom(roomId)?.getMember(member.userId)?.membership !== "join") {
      if (Date.now() > deadline) throw new Error(`${member.userId}'s join not seen`);
      await sleep(20);
    }
  }
  return roomId;
}

/** Participants alternate between `servers` (one server: all on it). */
async function keyRotation(servers: HomeserverClient[]): Promise<number[]> {
  const participants = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const hs = servers[i % servers.length] as HomeserverClient;
      return startClient(await hs.registerUser(), { homeserver: hs });
    }),
  );
  const [owner, ...others] = participants as [StartedClient, ...StartedClient[]];
  const room =
    servers.length === 1
      ? await encryptedRoom(owner, others, true)
      : await spanningRoom(owner, others);
  const widgets = await Promise.all(
    participants.map(async (p) => {
      const transport = new MatrixJsSdkTransport(p.client, { logger: quietLogger });
      const driver = new ToDeviceDriver({ transport, logger: quietLogger });
      const frame = await widgetOn(driver, room, [
        `org.matrix.msc3819.send.to_device:${KEY_TYPE}`,
        `org.matrix.msc3819.receive.to_device:${KEY_TYPE}`,
      ]);
      return { p, frame, driver };
    }),
  );
  const rotate = async (round: number) => {
    const t0 = performance.now();
    const sends = widgets.map(({ p, frame }) => {
      const recipient_devices: Record<string, string[]> = {};
      for (const q of participants) if (q !== p) recipient_devices[q.userId] = [q.deviceId];
      // ~270 bytes, like Element Call's io.element.call.encryption_keys.
      const content = {
        keys: [{ index: round % 256, key: Buffer.alloc(32, round).toString("base64") }],
        device_id: p.deviceId,
        call_id: "",
        sent_ts: Date.now(),
        member: { id: `${p.userId}:${p.deviceId}`, claimed_device_id: p.deviceId },
        session: { application: "m.call", call_id: "", scope: "m.room" },
      };
      return frame.send({ type: KEY_TYPE, recipient_devices, content: { ...content, round } });
    });
    const has = (frame: WidgetFrame) =>
      frame.received.filter((m) => (m.content as { round?: number }).round === round).length;
    while (!widgets.every(({ frame }) => has(frame) >= 9)) await sleep(2);
    const ms = performance.now() - t0;
    for (const reply of await Promise.all(sends))
      if (!reply.ok) throw new Error(`key send failed: ${JSON.stringify(reply)}`);
    return ms;
  };
  await rotate(0); // warm-up: Olm sessions
  const times: number[] = [];
  for (let round = 1; round <= 7; round++) times.push(await rotate(round));
  for (const { frame, driver, p } of widgets) {
    driver.dispose();
    frame.stop();
    p.stop();
  }
  return times;
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padStart(widths[i] as number)).join(" | ")} |`;
  print(line(head));
  print(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) print(line(row));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

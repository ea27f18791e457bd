// Codec benchmark shaped like Element Call's key exchange: one ~270-byte content to N devices.
// Every figure is a ratio to a baseline measured in the same run (JSON.parse of the same bytes),
// because absolute times on shared machines are noise.

// The built package, as a widget or host ships it.
import { decodeSendRequest, normalize } from "@widget-todevice/codec";
import { Bench } from "tinybench";

const SIZES = [2, 20, 100, 1000] as const;

/** An Element Call encryption-key content (`io.element.call.encryption_keys`): 270 bytes. */
const KEY_CONTENT = {
  keys: { index: 3, key: "nHm1aGxMXiN2nV0mBbCk8yq0bBjUqZ5tC9Yk6Hh1Rz4=" },
  member: { claimed_device_id: "QWERTYUIOP", id: "@alice:matrix.org:QWERTYUIOP" },
  room_id: "!abcdefgh:matrix.org",
  session: { application: "m.call", call_id: "", scope: "m.room" },
  sent_ts: 17641464,
};

/**
 * N call participants, one device each (the worst case for the recipients format: no user ID
 * is shared), with IDs as long as matrix.org's: `@user0042:matrix.org`, `DEVICE0042`.
 */
function recipientsOf(n: number): Array<[string, string]> {
  return Array.from({ length: n }, (_, i) => [
    `@user${String(i).padStart(4, "0")}:matrix.org`,
    `DEVICE${String(i).padStart(4, "0")}`,
  ]);
}

/** The same N devices held by N / 2 users with two devices each (a phone and a laptop). */
function pairedRecipientsOf(n: number): Array<[string, string]> {
  const users = recipientsOf(n).map(([user]) => user);
  return users.map((_, i) => [users[i >> 1] as string, `DEVICE${String(i).padStart(4, "0")}`]);
}

function requestBytes(
  format: "legacy" | "recipients" | "scoped",
  n: number,
  recipients: Array<[string, string]> = recipientsOf(n),
): string {
  const type = "io.element.call.encryption_keys";
  if (format === "legacy") {
    const messages: Record<string, Record<string, unknown>> = {};
    for (const [user, device] of recipients)
      messages[user] = { ...messages[user], [device]: KEY_CONTENT };
    return JSON.stringify({ type, encrypted: true, messages });
  }
  const recipient_devices: Record<string, string[]> = {};
  for (const [user, device] of recipients)
    recipient_devices[user] = [...(recipient_devices[user] ?? []), device];
  const request = { type, encrypted: true, recipient_devices, content: KEY_CONTENT };
  return JSON.stringify(format === "scoped" ? { ...request, scope: { id: "m.call" } } : request);
}

interface Row {
  n: number;
  format: string;
  bytes: number;
  ratio: number;
}

const rows: Row[] = [];
for (const n of SIZES) {
  for (const format of ["legacy", "recipients", "scoped"] as const) {
    const bytes = requestBytes(format, n);
    const parsed: unknown = JSON.parse(bytes);
    let sink: unknown;
    const bench = new Bench({ time: 300, warmup: true, warmupTime: 100 });
    bench
      .add("JSON.parse", () => {
        sink = JSON.parse(bytes);
      })
      .add("decode+normalize", () => {
        const result = decodeSendRequest(parsed);
        if (result._tag === "Left") throw new Error(JSON.stringify(result.left));
        sink = normalize(result.right);
      });
    await bench.run();
    const [parse, codec] = bench.tasks.map((task) => {
      const result = task.result;
      if (result === undefined || !("latency" in result))
        throw new Error(`${task.name} did not run`);
      return result.latency.p50 ?? result.latency.mean;
    });
    if (sink === undefined || parse === undefined || codec === undefined)
      throw new Error("no result");
    rows.push({ n, format, bytes: Buffer.byteLength(bytes), ratio: codec / parse });
  }
}

const find = (n: number, format: string) =>
  rows.find((row) => row.n === n && row.format === format) as Row;

console.log(
  "\ncodec: decode+normalize time as a ratio to JSON.parse of the same request bytes (median)",
);
console.log("   N  format        request bytes  vs JSON.parse  recipients/legacy bytes");
for (const row of rows) {
  const sizeRatio =
    row.format === "legacy" ? "" : (row.bytes / find(row.n, "legacy").bytes).toFixed(3);
  console.log(
    `${String(row.n).padStart(4)}  ${row.format.padEnd(12)}  ${String(row.bytes).padStart(13)}  ${row.ratio.toFixed(2).padStart(11)}x  ${sizeRatio.padStart(23)}`,
  );
}

const targets = [
  [
    "legacy decode+normalize at N = 100 <= 2x JSON.parse",
    find(100, "legacy").ratio <= 2,
    find(100, "legacy").ratio.toFixed(2),
  ],
  [
    "recipients decode+normalize at N = 1000 <= 1x JSON.parse",
    find(1000, "recipients").ratio <= 1,
    find(1000, "recipients").ratio.toFixed(2),
  ],
  [
    "recipients bytes at N = 100 <= 10% of legacy",
    find(100, "recipients").bytes / find(100, "legacy").bytes <= 0.1,
    `${((100 * find(100, "recipients").bytes) / find(100, "legacy").bytes).toFixed(1)}%`,
  ],
] as const;
const paired = (format: "legacy" | "recipients") =>
  Buffer.byteLength(requestBytes(format, 100, pairedRecipientsOf(100)));
console.log(
  `\nN = 100 as 50 users with two devices each: recipients ${paired("recipients")} bytes, legacy ${paired("legacy")} bytes (${((100 * paired("recipients")) / paired("legacy")).toFixed(1)}%)`,
);

console.log("\ntargets");
for (const [name, met, figure] of targets)
  console.log(`  ${met ? "met   " : "MISSED"}  ${name} (measured ${figure})`);

// How much each table measures. `WIDGET_TODEVICE_BENCH_QUICK=1` runs every table with fewer
// rounds and smaller N, to check that the benchmark code works; its figures mean little.

export const QUICK = process.env.WIDGET_TODEVICE_BENCH_QUICK === "1";

export interface BenchConfig {
  readonly mode: "full" | "quick";
  /** Light recipient devices for fan-outs: users x devices each. */
  readonly fleet: { readonly users: number; readonly devicesPerUser: number };
  /** Table 1: recipient counts and rounds per count (after warm-up). */
  readonly reply: { readonly sizes: ReadonlyArray<number>; readonly rounds: (n: number) => number };
  readonly warmup: number;
  /** Table 2: Element Call rotation. */
  readonly rotation: { readonly participants: number; readonly rounds: number };
  /** Table 3: receiving devices, one server and across federation. */
  readonly widgetToWidget: {
    readonly receivers: ReadonlyArray<number>;
    readonly federatedReceivers: ReadonlyArray<number>;
    readonly rounds: (receivers: number) => number;
  };
  /** Table 4: the large call. */
  readonly largeRotation: { readonly participants: number; readonly rounds: number };
  /** Table 5: widgets attached at rest, and the sends whose event-loop stretches are measured. */
  readonly hostBill: {
    readonly widgetsAtRest: number;
    readonly sizes: ReadonlyArray<number>;
    readonly rounds: number;
  };
}

const full: BenchConfig = {
  mode: "full",
  fleet: { users: 10, devicesPerUser: 100 },
  reply: {
    sizes: [2, 20, 100, 300, 1000],
    rounds: (n) => (n <= 100 ? 40 : n <= 300 ? 30 : 20),
  },
  warmup: 3,
  rotation: { participants: 10, rounds: 40 },
  widgetToWidget: {
    receivers: [1, 10, 100],
    federatedReceivers: [1, 10],
    rounds: (r) => (r <= 10 ? 40 : 20),
  },
  largeRotation: { participants: 50, rounds: 20 },
  hostBill: { widgetsAtRest: 200, sizes: [2, 100, 1000], rounds: 20 },
};

const quick: BenchConfig = {
  mode: "quick",
  fleet: { users: 2, devicesPerUser: 10 },
  reply: { sizes: [2, 20], rounds: () => 5 },
  warmup: 1,
  rotation: { participants: 4, rounds: 5 },
  widgetToWidget: { receivers: [1, 3], federatedReceivers: [1], rounds: () => 5 },
  largeRotation: { participants: 6, rounds: 3 },
  hostBill: { widgetsAtRest: 20, sizes: [2, 20], rounds: 5 },
};

export const config: BenchConfig = QUICK ? quick : full;

// Property: whatever mix of synchronous and asynchronous validations, valid and invalid
// contents, and whatever order the asynchronous ones finish in, each message is handled exactly
// once (the handler for a valid content, `onError` for an invalid one), one sender's messages
// are handled in the order they arrived, and a message with nothing of its sender's pending and a
// synchronous verdict is handled before `dispatch` returns.
// Runs: WIDGET_TODEVICE_FUZZ_RUNS (default 100). A failure prints its seed;
// WIDGET_TODEVICE_FUZZ_SEED replays it.
import type { ToWidgetMessage } from "@widget-todevice/codec";
import fc from "fast-check";
import { expect, test } from "vitest";
import type { StandardSchemaV1 } from "../src/index.js";
import { SubscriptionRegistry } from "../src/subscription.js";

const RUNS = Number(process.env.WIDGET_TODEVICE_FUZZ_RUNS ?? 100);
const SEED =
  process.env.WIDGET_TODEVICE_FUZZ_SEED === undefined
    ? undefined
    : Number(process.env.WIDGET_TODEVICE_FUZZ_SEED);

const PING = "org.example.ping";
const SENDERS = ["@a:example.org", "@b:example.org", "@c:example.org"] as const;

interface Planned {
  readonly sender: number;
  readonly valid: boolean;
  readonly async: boolean;
}

/** Either the next message arrives, or the pending validation at this position finishes. */
type Step = { readonly arrive: true } | { readonly finish: number };

const planned = fc.record({
  sender: fc.integer({ min: 0, max: SENDERS.length - 1 }),
  valid: fc.boolean(),
  async: fc.boolean(),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ arrive: true as const }),
  fc.record({ finish: fc.nat(20) }),
);

test("asynchronous validation: exactly once, in arrival order per sender", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(planned, { minLength: 1, maxLength: 25 }),
      fc.array(step, { maxLength: 60 }),
      async (messages, steps) => {
        const pending: Array<() => void> = [];
        const schema: StandardSchemaV1<unknown, { seq: number }> = {
          "~standard": {
            version: 1,
            vendor: "test",
            validate(value) {
              const seq = (value as { seq: number }).seq;
              const plan = messages[seq] as Planned;
              const verdict: StandardSchemaV1.Result<{ seq: number }> = plan.valid
                ? { value: { seq } }
                : { issues: [{ message: "refused", path: ["seq"] }] };
              if (!plan.async) return verdict;
              return new Promise((resolve) => pending.push(() => resolve(verdict)));
            },
          },
        };
        const handled: Array<{ seq: number; how: "handler" | "onError" }> = [];
        const registry = new SubscriptionRegistry();
        registry.add(
          PING,
          (message) => void handled.push({ seq: message.content.seq, how: "handler" }),
          {
            content: schema,
            onError: (error) =>
              handled.push({
                seq: (error.data as ToWidgetMessage).content.seq as number,
                how: "onError",
              }),
          },
        );

        const owing = new Map<number, number>(); // sender -> messages not yet handled
        let next = 0;
        const arrive = (): void => {
          const seq = next++;
          const plan = messages[seq] as Planned;
          const before = handled.length;
          const quiet = (owing.get(plan.sender) ?? 0) === 0;
          registry.dispatch(
            {
              type: PING,
              sender: SENDERS[plan.sender] as string,
              encrypted: true,
              content: { seq },
            },
            () => undefined,
          );
          owing.set(plan.sender, (owing.get(plan.sender) ?? 0) + 1);
          if (quiet && !plan.async) {
            expect(handled.slice(before)).toEqual([
              { seq, how: plan.valid ? "handler" : "onError" },
            ]);
          }
        };
        const settle = () => new Promise((resolve) => setImmediate(resolve));
        const account = (from: number): void => {
          for (const { seq } of handled.slice(from)) {
            const sender = (messages[seq] as Planned).sender;
            owing.set(sender, (owing.get(sender) ?? 0) - 1);
          }
        };

        for (const s of steps) {
          const from = handled.length;
          if ("arrive" in s) {
            if (next < messages.length) arrive();
          } else if (pending.length > 0) {
            pending.splice(s.finish % pending.length, 1)[0]?.();
            await settle();
          }
          account(from);
        }
        while (next < messages.length || pending.length > 0) {
          const from = handled.length;
          if (next < messages.length) arrive();
          else pending.shift()?.();
          await settle();
          account(from);
        }

        // Exactly once each, and each the right way.
        expect([...handled].sort((x, y) => x.seq - y.seq)).toEqual(
          messages.map((plan, seq) => ({ seq, how: plan.valid ? "handler" : "onError" })),
        );
        // Per sender, in arrival order.
        for (let sender = 0; sender < SENDERS.length; sender++) {
          const order = handled
            .map(({ seq }) => seq)
            .filter((seq) => (messages[seq] as Planned).sender === sender);
          expect(order).toEqual([...order].sort((x, y) => x - y));
        }
      },
    ),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
});

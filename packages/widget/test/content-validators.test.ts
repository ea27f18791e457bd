// Typed subscriptions with the validators widget authors already use: Standard Schema (zod 4,
// valibot 1, arktype 2), io-ts and type guards, in `subscribe` and `messages()` alike, on a
// stock matrix-widget-api host (harness.ts). Validation may be asynchronous: one sender's
// messages still reach the handler in the order they arrived.
import { type } from "arktype";
import * as t from "io-ts";
import * as v from "valibot";
import { afterEach, beforeEach, describe, expect, expectTypeOf, test } from "vitest";
import { z } from "zod";
import {
  createToDeviceWidget,
  type ReceivedToDeviceMessage,
  type StandardSchemaV1,
  type ToDeviceReceiveError,
  type ToDeviceWidget,
} from "../src/index.js";
import {
  embedWidget,
  type HostWindow,
  installStructuredClone,
  quietWidgetApiLogs,
  RecordingDriver,
  until,
  widgetUrl,
} from "./harness.js";

const PING = "org.example.ping";
const BOB = "@bob:example.org";
const CAROL = "@carol:example.org";

let page: HostWindow;
let widget: ToDeviceWidget | undefined;
let restoreClone: () => void;
let errors: ToDeviceReceiveError[];

beforeEach(() => {
  quietWidgetApiLogs();
  restoreClone = installStructuredClone();
  page = embedWidget(new RecordingDriver(), widgetUrl());
  errors = [];
});

afterEach(() => {
  widget?.close();
  widget?.api.transport.stop();
  widget = undefined;
  page.stop();
  restoreClone();
});

async function started(): Promise<ToDeviceWidget> {
  widget = createToDeviceWidget({
    url: widgetUrl(),
    receive: [PING],
    onError: (error) => errors.push(error),
  });
  page.load();
  await widget.ready;
  return widget;
}

/** Feeds one message and waits for the widget's answer; rejects if it answered with an error. */
function feed(sender: string, content: Record<string, unknown>): Promise<void> {
  return page.host.feedToDevice({ type: PING, sender, content }, true);
}

interface Ping {
  seq: number;
}

const isPing = (content: unknown): content is Ping =>
  typeof (content as { seq?: unknown }).seq === "number";

describe("each kind of validator types and checks the content", () => {
  const kinds = {
    "zod 4": z.object({ seq: z.number() }),
    "valibot 1": v.object({ seq: v.number() }),
    "arktype 2": type({ seq: "number" }),
    "io-ts": t.type({ seq: t.number }),
    "a type guard": isPing,
  } as const;

  for (const [kind, validator] of Object.entries(kinds)) {
    test(`${kind}: valid contents reach the handler, an invalid one goes to onError with its path, the host gets {} for both`, async () => {
      const w = await started();
      const got: unknown[] = [];
      w.subscribe(PING, (message) => void got.push(message.content), { content: validator });

      await feed(BOB, { seq: 1 });
      await feed(BOB, { seq: "two" });
      await feed(BOB, { seq: 3 });

      await until(() => got.length === 2 && errors.length === 1, "two messages and one error");
      expect(got).toEqual([{ seq: 1 }, { seq: 3 }]);
      expect(errors[0]).toMatchObject({ reason: "invalid_content", type: PING, sender: BOB });
      expect(errors[0]?.issues[0]?.path).toBe(kind === "a type guard" ? "" : "seq");
      expect(errors[0]?.message).toContain("refused by the subscription's validator");
    });
  }

  test("content is typed from the validator, in subscribe and in messages()", async () => {
    const w = await started();
    w.subscribe(
      PING,
      (message) => {
        expectTypeOf(message.content).toEqualTypeOf<{ seq: number }>();
      },
      { content: z.object({ seq: z.number() }) },
    );
    w.subscribe(
      PING,
      (message) => {
        expectTypeOf(message.content).toEqualTypeOf<{ seq: number }>();
      },
      { content: v.object({ seq: v.number() }), onError: () => {} },
    );
    w.subscribe(
      PING,
      (message) => {
        expectTypeOf(message.content).toEqualTypeOf<{ seq: number }>();
      },
      {
        content: type({ seq: "number" }),
      },
    );
    w.subscribe(
      PING,
      (message) => {
        expectTypeOf(message.content).toEqualTypeOf<{ seq: number }>();
      },
      {
        content: t.type({ seq: t.number }),
      },
    );
    w.subscribe(
      PING,
      (message) => {
        expectTypeOf(message.content).toEqualTypeOf<Ping>();
      },
      {
        content: isPing,
      },
    );
    w.subscribe(PING, (message) => {
      expectTypeOf(message.content).toEqualTypeOf<ReceivedToDeviceMessage["content"]>();
    });
    expectTypeOf(w.messages(PING, { content: z.object({ seq: z.number() }) })).toEqualTypeOf<
      AsyncIterableIterator<ReceivedToDeviceMessage<{ seq: number }>>
    >();
    // @ts-expect-error: the schema has no field `other`.
    w.subscribe(PING, (message) => message.content.other, { content: isPing });
  });

  test("handlers get what the validator returned (zod strips, transforms apply), not the raw content", async () => {
    const w = await started();
    const got: unknown[] = [];
    const Schema = z.object({ seq: z.number().transform((seq) => seq * 10) });
    w.subscribe(PING, (message) => void got.push(message.content), { content: Schema });
    await feed(BOB, { seq: 4, extra: true });
    await until(() => got.length === 1, "the message");
    expect(got).toEqual([{ seq: 40 }]);
  });

  test("a Standard Schema issue path becomes a codec path", async () => {
    const w = await started();
    const Keys = v.object({ keys: v.array(v.object({ key: v.string() })) });
    w.subscribe(PING, () => {}, { content: Keys });
    await feed(BOB, { keys: [{ key: "a" }, { key: 2 }] });
    await until(() => errors.length === 1, "the error");
    expect(errors[0]?.issues.map((issue) => issue.path)).toEqual(["keys[1].key"]);
  });

  test("a validator that throws is reported as invalid_content with its cause, and the host gets {}", async () => {
    const w = await started();
    const boom = new Error("boom");
    const handler: unknown[] = [];
    w.subscribe(PING, (message) => void handler.push(message), {
      content: (): boolean => {
        throw boom;
      },
    });
    await feed(BOB, { seq: 1 });
    expect(handler).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: "invalid_content", cause: boom });
  });

  test("subscribe refuses a validator in the handler's place, and options.content that is no validator", async () => {
    const w = await started();
    const call = w.subscribe as unknown as (...args: unknown[]) => unknown;
    expect(() => call.call(w, PING, t.type({ seq: t.number }), () => {})).toThrow(
      /handler must be a function.*options\.content/,
    );
    expect(() => call.call(w, PING, () => {}, { content: { seq: "number" } })).toThrow(
      /options\.content must be a Standard Schema/,
    );
  });
});

/** A Standard Schema whose verdict on each `seq` the test releases when it wants. */
function gatedSchema(): {
  schema: StandardSchemaV1<unknown, Ping>;
  release(seq: number, valid?: boolean): void;
  gate(seq: number): void;
} {
  const gates = new Map<number, (valid: boolean) => void>();
  const waiting = new Map<number, Promise<boolean>>();
  return {
    schema: {
      "~standard": {
        version: 1,
        vendor: "test",
        validate(value) {
          const seq = (value as Ping).seq;
          const verdict = (valid: boolean): StandardSchemaV1.Result<Ping> =>
            valid ? { value: { seq } } : { issues: [{ message: "refused", path: ["seq"] }] };
          const gate = waiting.get(seq);
          return gate === undefined ? verdict(true) : gate.then(verdict);
        },
      },
    },
    gate(seq) {
      waiting.set(seq, new Promise<boolean>((resolve) => gates.set(seq, resolve)));
    },
    release(seq, valid = true) {
      gates.get(seq)?.(valid);
    },
  };
}

describe("asynchronous validation", () => {
  test("one sender's messages reach the handler in arrival order; another sender does not wait", async () => {
    const w = await started();
    const { schema, gate, release } = gatedSchema();
    const got: Array<[string, number]> = [];
    w.subscribe(PING, (message) => void got.push([message.sender, message.content.seq]), {
      content: schema,
    });
    gate(1);

    // All three are answered at once, whatever the validation is doing.
    await feed(BOB, { seq: 1 });
    await feed(BOB, { seq: 2 });
    await feed(CAROL, { seq: 3 });
    // Carol's message is the barrier: Bob's second (validated at once) waits for his first.
    await until(() => got.length === 1, "Carol's message");
    expect(got).toEqual([[CAROL, 3]]);

    release(1);
    await until(() => got.length === 3, "Bob's two messages");
    expect(got).toEqual([
      [CAROL, 3],
      [BOB, 1],
      [BOB, 2],
    ]);
  });

  test("a message refused asynchronously is reported in its place, and the next one still arrives", async () => {
    const w = await started();
    const { schema, gate, release } = gatedSchema();
    const seen: string[] = [];
    w.subscribe(PING, (message) => void seen.push(`ok ${message.content.seq}`), {
      content: schema,
      onError: (error) => seen.push(`${error.reason} ${error.issues[0]?.path}`),
    });
    gate(1);
    await feed(BOB, { seq: 1 });
    await feed(BOB, { seq: 2 });
    release(1, false);
    await until(() => seen.length === 2, "both");
    expect(seen).toEqual(["invalid_content seq", "ok 2"]);
  });

  test("zod's async refinements and valibot's async schemas keep one sender's order", async () => {
    const w = await started();
    let slow: () => void = () => {};
    const hold = new Promise<void>((resolve) => {
      slow = resolve;
    });
    const Zod = z.object({ seq: z.number() }).refine(async ({ seq }) => {
      if (seq === 1) await hold;
      return true;
    });
    const Valibot = v.pipeAsync(
      v.object({ seq: v.number() }),
      v.checkAsync(async ({ seq }) => {
        if (seq === 1) await hold;
        return true;
      }),
    );
    const byZod: number[] = [];
    const byValibot: number[] = [];
    w.subscribe(PING, (message) => void byZod.push(message.content.seq), { content: Zod });
    const stream = w.messages(PING, { content: Valibot });
    const reading = (async () => {
      for await (const message of stream) {
        byValibot.push(message.content.seq);
        if (byValibot.length === 3) break;
      }
    })();
    for (const seq of [1, 2, 3]) await feed(BOB, { seq });
    // A barrier: Carol's message passes both while Bob's first is held.
    await feed(CAROL, { seq: 9 });
    await until(() => byZod.length === 1 && byValibot.length === 1, "Carol's message");
    expect([byZod, byValibot]).toEqual([[9], [9]]);

    slow();
    await reading;
    await until(() => byZod.length === 4, "Bob's messages");
    expect(byZod).toEqual([9, 1, 2, 3]);
    expect(byValibot).toEqual([9, 1, 2]);
  });

  test("unsubscribing while a validation runs: that message never reaches the handler", async () => {
    const w = await started();
    const { schema, gate, release } = gatedSchema();
    const got: number[] = [];
    const barrier: number[] = [];
    const unsubscribe = w.subscribe(PING, (message) => void got.push(message.content.seq), {
      content: schema,
    });
    gate(1);
    await feed(BOB, { seq: 1 });
    unsubscribe();
    // The barrier subscription uses the same gate: it gets the message once it is released.
    w.subscribe(PING, (message) => void barrier.push(message.content.seq), { content: schema });
    await feed(BOB, { seq: 1 });
    release(1);
    await until(() => barrier.length === 1, "the barrier");
    expect(got).toEqual([]);
  });
});

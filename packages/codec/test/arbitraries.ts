// fast-check generators for valid wire values of every format.
import fc from "fast-check";
import type { JsonObject } from "../src/index.js";

const localpartChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789._=-/".split(""));
const hostChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789.-".split(""));

export const userId = fc
  .tuple(
    fc.string({ unit: localpartChar, minLength: 1, maxLength: 12 }),
    fc.string({ unit: hostChar, minLength: 1, maxLength: 12 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([local, host, port]) => `@${local}:${host}${port === undefined ? "" : `:${port}`}`);

export const deviceId = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".split("")),
  minLength: 1,
  maxLength: 12,
});

export const eventType = fc
  .array(
    fc.string({
      unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz_".split("")),
      minLength: 1,
      maxLength: 8,
    }),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((parts) => parts.join("."));

/** JSON contents without a top-level `scope` (which widgets may not send). */
export const content: fc.Arbitrary<JsonObject> = fc
  .dictionary(
    fc.string({ maxLength: 8 }).filter((key) => key !== "scope"),
    fc.jsonValue({ maxDepth: 4, noUnicodeString: false }),
    { maxKeys: 5 },
  )
  .map((object) => JSON.parse(JSON.stringify(object)) as JsonObject);

/** One user's devices: `["*"]` or distinct device IDs. */
export const deviceList = fc.oneof(
  { weight: 1, arbitrary: fc.constant(["*"]) },
  { weight: 4, arbitrary: fc.uniqueArray(deviceId, { minLength: 1, maxLength: 6 }) },
);

export const recipientDevices = fc.dictionary(userId, deviceList, { minKeys: 0, maxKeys: 5 });

/** A legacy map; contents drawn from a small pool so that groups form. */
export const legacyMessages = fc
  .tuple(
    fc.array(content, { minLength: 1, maxLength: 3 }),
    fc.dictionary(userId, deviceList, { maxKeys: 5 }),
  )
  .chain(([pool, recipients]) => {
    const entries = Object.entries(recipients).flatMap(([user, devices]) =>
      devices.map((device) => [user, device] as const),
    );
    return fc
      .array(fc.nat({ max: pool.length - 1 }), {
        minLength: entries.length,
        maxLength: entries.length,
      })
      .map((picks) => {
        const messages: Record<string, Record<string, JsonObject>> = {};
        entries.forEach(([user, device], i) => {
          messages[user] ??= {};
          (messages[user] as Record<string, JsonObject>)[device] = structuredClone(
            pool[picks[i] as number] as JsonObject,
          );
        });
        return messages;
      });
  });

/** Plain objects, as postMessage or JSON.parse deliver them (fc.record makes null-prototype ones). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export const legacyWire = fc
  .record({ type: eventType, encrypted: fc.boolean(), messages: legacyMessages })
  .map(plain);

export const recipientsWire = fc
  .record(
    { type: eventType, encrypted: fc.boolean(), recipient_devices: recipientDevices, content },
    { requiredKeys: ["type", "recipient_devices", "content"] },
  )
  .map(plain);

export const scopedWire = fc
  .record(
    {
      type: eventType,
      encrypted: fc.boolean(),
      recipient_devices: recipientDevices,
      content,
      scope: fc.record({ id: eventType }, { requiredKeys: [] }),
    },
    { requiredKeys: ["type", "recipient_devices", "content", "scope"] },
  )
  .map(plain);

/** Anything at all, including values that are not JSON. */
export const anyValue = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});

/** Request-shaped objects whose fields hold anything: reaches deep into the decoders. */
export const requestShaped = fc.record(
  {
    type: fc.oneof(eventType, anyValue),
    encrypted: fc.oneof(fc.boolean(), anyValue),
    messages: fc.oneof(
      legacyMessages,
      fc.dictionary(
        fc.oneof(userId, fc.string()),
        fc.dictionary(fc.oneof(deviceId, fc.string()), anyValue),
      ),
    ),
    recipient_devices: fc.oneof(
      recipientDevices,
      fc.dictionary(fc.oneof(userId, fc.string()), fc.array(anyValue)),
    ),
    content: fc.oneof(content, anyValue),
    scope: fc.oneof(fc.record({ id: eventType }), anyValue),
    constructor: anyValue,
  },
  { requiredKeys: [] },
);

/** Objects with an own `__proto__` key, as JSON.parse makes them. */
export const withProtoKey = fc
  .tuple(requestShaped, anyValue, fc.constantFrom("", "messages", "recipient_devices", "content"))
  .map(([request, value, where]) => {
    const target = where === "" ? request : (request as Record<string, unknown>)[where];
    if (typeof target === "object" && target !== null) {
      Object.defineProperty(target, "__proto__", {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return request;
  });

/**
 * Section 1: the to-device types the pinned matrix-js-sdk and its crypto library
 * (@matrix-org/matrix-sdk-crypto-wasm) handle are reserved, or deliberately allowed with a
 * reason. The types are read from the installed packages, so a dependency update that teaches
 * the client a new key-management type fails here until someone decides about it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { isReservedType } from "@widget-todevice/codec";
import { describe, expect, it } from "vitest";
import { reviewToDeviceCapabilities } from "../src/index.js";
import { ToDeviceRouter } from "../src/to-device-router.js";
import { RecordingLogger } from "./harness/world.js";

/**
 * Names the libraries mention that no widget needs refused, each with the reason. Everything
 * else found below must be reserved (`isReservedType`).
 */
const DELIBERATELY_ALLOWED: ReadonlyArray<{ names: ReadonlyArray<string>; reason: string }> = [
  {
    names: ["io.element.call.encryption_keys", "org.matrix.msc4143.rtc.encryption_key"],
    reason:
      "Element Call's media keys: widgets send and receive these to-device; the client only relays them",
  },
  {
    names: [
      "m.megolm",
      "m.megolm.v1.aes",
      "m.olm.v1.curve25519",
      "m.megolm_backup.v1.curve25519",
      "m.secret_storage.v1.aes",
    ],
    reason: "encryption algorithm names (truncated in log text: `m.megolm`), not event types",
  },
  {
    names: [
      "m.cross_signing.master",
      "m.cross_signing.self_signing",
      "m.cross_signing.user_signing",
      "m.megolm_backup.v1",
    ],
    reason: "secret names carried inside `m.secret.*` contents, not event types",
  },
  {
    names: [
      "m.secret_storage.default_key",
      "m.secret_storage.key",
      "m.key_backup",
      "m.org.matrix.custom.backup_disabled",
    ],
    reason: "account data types (`m.secret_storage.key` is a prefix of per-key account data)",
  },
  {
    names: ["m.room.encryption", "io.element.msc4362.encrypt_state_events"],
    reason: "a room state event and a field of it",
  },
  {
    names: ["m.bad.encrypted"],
    reason: "matrix-js-sdk's local `msgtype` for an event it could not decrypt; never sent",
  },
  {
    names: ["m.key_verification.cancel"],
    reason:
      "only in a log message of the crypto library (a misspelling of `m.key.verification.cancel`, which is reserved)",
  },
  {
    names: ["m.login.dummy", "m.login.secrets"],
    reason: "a user-interactive auth stage and an MSC4108 rendezvous message: not to-device",
  },
  {
    names: ["m.device", "m.devices"],
    reason: "fields of legacy group call member state (`m.devices`), not event types",
  },
  {
    names: [
      "io.element.e2ee_forced",
      "org.matrix.msc2732.device_unused_fallback_key_types",
      "org.matrix.msc2732.fallback_keys",
      "org.matrix.msc3881.device_id",
      "org.matrix.msc3814",
    ],
    reason:
      "server feature flags, sync and key-upload fields, a pusher field and the dehydrated device API's path",
  },
  {
    names: ["io.element.x509"],
    reason: "an X.509 signature label of QR login, not an event type",
  },
  {
    names: [
      "org.matrix.msc1767.html",
      "org.matrix.msc1767.message",
      "org.matrix.msc1767.text",
      "org.matrix.msc3381.poll.end",
      "org.matrix.msc3672.beacon",
      "org.matrix.msc4075.call.notify",
      "org.matrix.msc4075.rtc.notification",
      "org.matrix.msc4310.rtc.decline",
    ],
    reason:
      "room event types and content fields the crypto library's event model (ruma) knows; not to-device",
  },
];

const ALLOWED = new Map(
  DELIBERATELY_ALLOWED.flatMap(({ names, reason }) => names.map((name) => [name, reason])),
);

/**
 * A Matrix identifier in the spec (`m.`) or Element's and matrix.org's unstable namespaces.
 * The look-behind keeps `custom.m.x` or `$m.x` from counting as `m.x`.
 */
const NAMESPACED = /(?<![A-Za-z0-9_.$])(?:m|io\.element|org\.matrix)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*/g;

/** Words of key-management and device traffic: a spec (`m.`) name with one of these counts. */
const KEY_MANAGEMENT = /key|secret|verification|dummy|encrypt|olm|device|withheld|bundle|signing/;

/**
 * In the wasm binary Rust string literals lie back to back without separators
 * (`m.dummym.room_keym.room_key_bundle`), so a name also ends where the next namespace begins
 * after a letter or digit; `room.` is the one segment ending in `m` before a dot in use.
 */
const NEXT_NAME = /(?<=[a-z0-9_])(?<!roo)(?=m\.|io\.element\.|org\.matrix\.)/;

interface Found {
  readonly name: string;
  readonly where: string;
}

/**
 * The to-device candidates in one text: every `io.element.*` and `org.matrix.*` name in the
 * crypto library (all of it is key management), and elsewhere the names with a key-management
 * word. In matrix-js-sdk, unstable names without one are room events, fields and feature flags.
 */
function namesIn(
  text: string,
  where: string,
  options: { concatenated: boolean; allUnstable: boolean },
): Found[] {
  const found: Found[] = [];
  for (const match of text.matchAll(NAMESPACED)) {
    const names = options.concatenated ? match[0].split(NEXT_NAME) : [match[0]];
    for (const name of names) {
      const unstable = name.startsWith("io.element.") || name.startsWith("org.matrix.");
      if ((options.allUnstable && unstable) || KEY_MANAGEMENT.test(name))
        found.push({ name, where });
    }
  }
  return found;
}

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter(keep)
    .map((name) => join(dir, name));
}

const require = createRequire(import.meta.url);
const jsSdkDir = dirname(require.resolve("matrix-js-sdk/package.json"));

/** The crypto library the driver pins and the one matrix-js-sdk resolves (normally the same). */
function cryptoWasmDirs(): string[] {
  const fromSdk = createRequire(join(jsSdkDir, "package.json"));
  const dirs = [require, fromSdk].map((from) =>
    dirname(from.resolve("@matrix-org/matrix-sdk-crypto-wasm")),
  );
  return [...new Set(dirs)];
}

function scanPinnedLibraries(): Found[] {
  const found: Found[] = [];
  for (const file of filesUnder(join(jsSdkDir, "lib"), (name) => /\.(?:js|d\.ts)$/.test(name))) {
    const text = readFileSync(file, "utf8");
    found.push(
      ...namesIn(text, `matrix-js-sdk/${file.slice(jsSdkDir.length + 1)}`, {
        concatenated: false,
        allUnstable: false,
      }),
    );
  }
  for (const dir of cryptoWasmDirs()) {
    for (const file of filesUnder(join(dir, "pkg"), (name) => /\.(?:js|d\.ts|wasm)$/.test(name))) {
      const wasm = file.endsWith(".wasm");
      // latin1 keeps every byte one character, so the binary's ASCII strings read as text.
      const text = readFileSync(file, wasm ? "latin1" : "utf8");
      found.push(
        ...namesIn(text, `matrix-sdk-crypto-wasm/${file.slice(dir.length + 1)}`, {
          concatenated: wasm,
          allUnstable: true,
        }),
      );
    }
  }
  return found;
}

describe("the pinned client libraries' to-device types", () => {
  const found = scanPinnedLibraries();
  const names = new Set(found.map(({ name }) => name));
  const whereFound = (name: string) => {
    const files = [...new Set(found.filter((f) => f.name === name).map((f) => f.where))];
    return files.length > 3
      ? `${files.slice(0, 3).join(", ")} and ${files.length - 3} more`
      : files.join(", ");
  };

  it("finds the key-management types, so the scan itself is known to work", () => {
    for (const name of [
      "m.room_key",
      "m.room_key.withheld",
      "m.forwarded_room_key",
      "m.secret.send",
      "m.key.verification.start",
      "m.dummy",
      "io.element.msc4268.room_key_bundle",
      "io.element.msc4385.secret.push",
      "io.element.call.encryption_keys",
    ]) {
      expect(names, name).toContain(name);
    }
    // Read from the wasm binary, where the crypto library's own type names live.
    const inBinary = (name: string) =>
      found.some((f) => f.name === name && f.where.endsWith(".wasm"));
    expect(inBinary("io.element.msc4385.secret.push")).toBe(true);
    expect(inBinary("m.room_key_bundle")).toBe(true);
  });

  it("are each reserved or deliberately allowed", () => {
    const holes = [...names]
      .filter((name) => !isReservedType(name) && !ALLOWED.has(name))
      .sort()
      .map((name) => `${name} (in ${whereFound(name)})`);
    expect(holes, "neither reserved nor deliberately allowed").toEqual([]);
  });

  it("never reserve what is deliberately allowed", () => {
    expect([...ALLOWED.keys()].filter(isReservedType)).toEqual([]);
  });
});

describe("a type reserved for secret push (MSC4385)", () => {
  const SECRET_PUSH = "io.element.msc4385.secret.push";

  it("is refused at capability negotiation in both directions and spellings", () => {
    const review = reviewToDeviceCapabilities([
      `org.matrix.msc3819.send.to_device:${SECRET_PUSH}`,
      `m.receive.to_device:${SECRET_PUSH}`,
    ]);
    expect(review.grantable).toEqual([]);
    expect(review.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/is reserved/),
      expect.stringMatching(/is reserved/),
    ]);
  });

  it("is not delivered, even to a widget that claims to hold the capability", async () => {
    const router = new ToDeviceRouter({ logger: new RecordingLogger() });
    const got: string[] = [];
    let barrier: () => void = () => undefined;
    const barrierArrived = new Promise<void>((resolve) => {
      barrier = resolve;
    });
    const route = router.addWidget({
      id: "w1",
      roomId: "!r1:example.org",
      isRoomEncrypted: () => true,
      canReceive: () => true,
      deliver: async (message) => {
        got.push(message.type);
        if (message.type === "org.example.barrier") barrier();
      },
    });
    route.negotiated(["legacy"]);
    const encrypted = (type: string) => ({
      message: { type, sender: "@bob:example.org", content: { secret: "s", name: "n" } },
      encryptionInfo: { sender: "@bob:example.org", senderDevice: "BOBDEV", senderVerified: true },
    });
    router.receive(encrypted(SECRET_PUSH));
    router.receive(encrypted("org.example.barrier"));
    await barrierArrived;
    expect(got).toEqual(["org.example.barrier"]);
    expect(route.stats.dropped.reserved_type).toBe(1);
  });
});

import type { JsonObject } from "@widget-todevice/codec";
import type { ClientEvent, MatrixClient } from "matrix-js-sdk";
import type { CryptoEvent } from "matrix-js-sdk/lib/crypto-api/index.js";
import { consoleLogger, type DriverLogger } from "./logger.js";
import { toSendToDeviceError } from "./matrix-js-sdk-errors.js";
import { RecentEntries } from "./recent-entries.js";
import {
  type CryptoApi,
  queryKeys,
  rustInternals,
  trackedUsers,
  trackUsers,
} from "./rust-crypto-internals.js";
import { TIMED_OUT, withinTime } from "./time-limit.js";
import type {
  DeviceAddress,
  DeviceListOptions,
  DeviceMessage,
  EncryptedBatch,
  EncryptionFailure,
  ReceivedToDeviceEvent,
  ReceivedToDeviceMessage,
  ToDeviceTransport,
} from "./transport.js";

// The production transport: the driver's `ToDeviceTransport` on a matrix-js-sdk `MatrixClient`
// with Rust crypto (`initRustCrypto`). Only types are imported from matrix-js-sdk, so this
// module loads whatever copy of the SDK the host uses and never a second one.

/**
 * Section 5's outgoing trust: which of a recipient's devices get an encrypted message.
 * - `all-devices`: every device that is not blocked (blacklisted) locally;
 * - `exclude-insecure`: only devices cross-signed by their owner (Element's "exclude insecure
 *   devices");
 * - `verified-only`: only devices this account has verified (cross-signing or locally).
 * Devices left out are reported to the widget as `withheld`.
 */
export type MatrixOutgoingTrust = "all-devices" | "exclude-insecure" | "verified-only";

export interface MatrixJsSdkTransportOptions {
  /** Default `"all-devices"`. */
  readonly outgoingTrust?: MatrixOutgoingTrust;
  /**
   * How long making users trackable and querying their keys may take; give it the driver's
   * `deviceListTimeoutMs` (default 10 s, as the driver's).
   */
  readonly deviceListTimeoutMs?: number;
  /**
   * A user who shares no encrypted room with this account gets no device-list updates through
   * `/sync`, so their list can be stale (a device that logged in later is missing). Such users'
   * keys are queried again before an encrypted send when their last query is older than this.
   * Default 0: always (one `/keys/query` for all such users of the send).
   */
  readonly deviceListMaxAgeMs?: number;
  /**
   * How many users' device lists and key-query times the transport remembers; the least recently
   * refreshed are forgotten first (and every entry once it is too old to be used). Default 2,000.
   */
  readonly maxCachedUsers?: number;
  readonly logger?: DriverLogger;
}

/** What a `MatrixJsSdkTransport` remembers now; both are bounded by `maxCachedUsers`. */
export interface MatrixJsSdkTransportRetained {
  /** Users whose device list is cached. */
  readonly deviceLists: number;
  /** Users outside shared encrypted rooms whose keys were queried recently. */
  readonly queriedUsers: number;
}

// ClientEvent.ReceivedToDeviceMessage, spelled out so that no value is imported from the SDK.
const RECEIVED_TO_DEVICE_MESSAGE = "receivedToDeviceMessage" as ClientEvent.ReceivedToDeviceMessage;
// CryptoEvent.DevicesUpdated, likewise: the OlmMachine changed these users' device lists.
const DEVICES_UPDATED = "crypto.devicesUpdated" as CryptoEvent.DevicesUpdated;
// DeviceVerification.Blocked
const BLOCKED = -1;

type DeviceInfoMap = Awaited<ReturnType<CryptoApi["getUserDeviceInfo"]>>;
type UserDevices = DeviceInfoMap extends Map<string, infer D> ? D : never;
/**
 * A cached device list is also dropped after this long, in case a change reached the OlmMachine
 * without its devices-updated callback (local trust changes, for one, have none).
 */
const DEVICE_CACHE_MS = 30_000;
const DEFAULT_MAX_CACHED_USERS = 2_000;

/** The part of `MatrixClient` the transport uses. */
export type MatrixJsSdkClient = Pick<MatrixClient, "getCrypto" | "sendToDevice" | "on" | "off"> &
  Partial<Pick<MatrixClient, "getRooms">>;

const key = (userId: string, deviceId: string) => `${userId}\n${deviceId}`;

/**
 * A `ToDeviceTransport` on a matrix-js-sdk client with Rust crypto. The client must have run
 * `initRustCrypto()` before encrypted sends; cleartext sends and receiving work without crypto.
 */
export class MatrixJsSdkTransport implements ToDeviceTransport {
  readonly outgoingTrust: MatrixOutgoingTrust;
  private readonly deviceListTimeoutMs: number;
  private readonly deviceListMaxAgeMs: number;
  private readonly logger: DriverLogger;
  /**
   * Users with no shared encrypted room whose keys this transport queried: when. Kept while it
   * decides anything: until the query is due again and the device list it gave has expired.
   */
  private readonly lastQueried: RecentEntries<true>;
  private warnedNoInternals = false;
  /**
   * Device lists as the OlmMachine last gave them, dropped as soon as it reports that a user's
   * devices changed (`CryptoEvent.DevicesUpdated`). Asking the OlmMachine converts every device
   * again (about 4 ms for one user, tens of milliseconds for 300 devices) on every send.
   */
  private readonly deviceCache: RecentEntries<UserDevices>;
  private readonly onDevicesUpdated = (userIds: string[]): void => {
    for (const userId of userIds) this.deviceCache.delete(userId);
  };
  private watchingDevices = false;
  /** Listeners this transport added to the client, removed by `dispose`. */
  private readonly unsubscribers = new Set<() => void>();
  private disposed = false;

  constructor(
    private readonly client: MatrixJsSdkClient,
    options: MatrixJsSdkTransportOptions = {},
  ) {
    this.outgoingTrust = options.outgoingTrust ?? "all-devices";
    this.deviceListTimeoutMs = options.deviceListTimeoutMs ?? 10_000;
    this.deviceListMaxAgeMs = options.deviceListMaxAgeMs ?? 0;
    this.logger = options.logger ?? consoleLogger;
    const maxUsers = options.maxCachedUsers ?? DEFAULT_MAX_CACHED_USERS;
    this.deviceCache = new RecentEntries(maxUsers, DEVICE_CACHE_MS);
    this.lastQueried = new RecentEntries(maxUsers, this.deviceListMaxAgeMs + DEVICE_CACHE_MS);
  }

  /** What the transport remembers now (see `maxCachedUsers`). */
  get retained(): MatrixJsSdkTransportRetained {
    return { deviceLists: this.deviceCache.size, queriedUsers: this.lastQueried.size };
  }

  /**
   * Removes every listener the transport added to the client and forgets what it cached. Call it
   * when the client stops or the host stops using the transport (after `ToDeviceDriver.dispose`,
   * which does not own the transport). Any later use throws.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const unsubscribe of [...this.unsubscribers]) unsubscribe();
    this.deviceCache.clear();
    this.lastQueried.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this MatrixJsSdkTransport is disposed");
  }

  private crypto(): CryptoApi {
    this.assertLive();
    const crypto = this.client.getCrypto();
    if (crypto === undefined)
      throw new Error("encrypted to-device needs the client's crypto: call initRustCrypto() first");
    return crypto;
  }

  async getUserDevices(
    userIds: ReadonlyArray<string>,
    options: DeviceListOptions,
  ): Promise<ReadonlyMap<string, ReadonlyArray<string>>> {
    this.assertLive();
    const crypto = this.client.getCrypto();
    // Without crypto there is no device list; cleartext sends go out unchecked.
    if (crypto === undefined) return new Map();
    this.watchDeviceUpdates();
    const now = Date.now();
    // Answered from what is in hand, not from the cache, which may hold fewer users than asked.
    const found = new Map<string, UserDevices>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const devices = this.cachedDevices(userId, now);
      if (devices === undefined) missing.push(userId);
      else found.set(userId, devices);
    }
    if (missing.length > 0) {
      if (options.downloadUncached) await this.trackAndRefresh(crypto, missing);
      const info = await crypto.getUserDeviceInfo(missing, options.downloadUncached);
      for (const [userId, devices] of info) {
        found.set(userId, devices);
        if (!this.disposed) this.deviceCache.set(userId, devices, now);
      }
    }
    const lists = new Map<string, ReadonlyArray<string>>();
    for (const userId of userIds) {
      const devices = found.get(userId);
      if (devices !== undefined) lists.set(userId, [...devices.keys()]);
    }
    return lists;
  }

  /**
   * A user's cached devices, unless they may have changed: the OlmMachine said so, the entry is
   * old, or the user shares no encrypted room and is due for another key query.
   */
  private cachedDevices(userId: string, now: number): UserDevices | undefined {
    const cached = this.deviceCache.get(userId, now);
    if (cached === undefined) return undefined;
    const queried = this.lastQueried.get(userId, now);
    if (queried !== undefined && now - queried.at >= this.deviceListMaxAgeMs) {
      // Due for a query only while no shared encrypted room keeps the list up to date: a user
      // who joined one since is kept current by `/sync`, and the cached list is good.
      if (!this.sharesEncryptedRoom(userId)) return undefined;
      this.lastQueried.delete(userId);
    }
    return cached.value;
  }

  private noteQueried(userId: string): void {
    if (!this.disposed) this.lastQueried.set(userId, true, Date.now());
  }

  /** Whether this transport queried the user's keys less than `deviceListMaxAgeMs` ago. */
  private queriedRecently(userId: string, now: number): boolean {
    const queried = this.lastQueried.get(userId, now);
    return queried !== undefined && now - queried.at < this.deviceListMaxAgeMs;
  }

  private watchDeviceUpdates(): void {
    if (this.watchingDevices) return;
    this.watchingDevices = true;
    this.client.on(DEVICES_UPDATED, this.onDevicesUpdated);
    this.unsubscribers.add(() => {
      this.client.off(DEVICES_UPDATED, this.onDevicesUpdated);
      this.watchingDevices = false;
    });
  }

  /**
   * Makes the OlmMachine track `userIds` (so it can encrypt for their devices) and re-queries the
   * keys of users who share no encrypted room with us (no device-list updates reach us for them).
   * Bounded by `deviceListTimeoutMs`; on timeout the caller answers from what is known.
   */
  private async trackAndRefresh(crypto: CryptoApi, userIds: ReadonlyArray<string>): Promise<void> {
    const internals = rustInternals(crypto);
    if (internals === undefined) {
      if (!this.warnedNoInternals) {
        this.warnedNoInternals = true;
        this.logger.warn(
          "this matrix-js-sdk crypto does not let the transport track users outside shared encrypted rooms; their devices will be reported as unknown_device/no_olm_session",
        );
      }
      return;
    }
    const work = (async () => {
      const tracked = await trackedUsers(internals);
      const untracked = userIds.filter((userId) => !tracked.has(userId));
      const now = Date.now();
      // Tracked, but no device-list updates reach us for them: no shared encrypted room. That
      // includes users this transport queried and then forgot (`maxCachedUsers`).
      const stale = userIds.filter(
        (userId) =>
          tracked.has(userId) &&
          !this.queriedRecently(userId, now) &&
          !this.sharesEncryptedRoom(userId),
      );
      if (untracked.length > 0) {
        await trackUsers(internals, untracked);
        for (const userId of untracked)
          if (!this.sharesEncryptedRoom(userId)) this.noteQueried(userId);
      }
      if (stale.length > 0) {
        await queryKeys(internals, stale);
        for (const userId of stale) this.noteQueried(userId);
      }
    })();
    try {
      const outcome = await withinTime(work, this.deviceListTimeoutMs);
      if (outcome === TIMED_OUT) this.logger.warn("key query for to-device recipients timed out");
    } catch (error) {
      this.logger.warn("tracking to-device recipients failed", error);
    }
  }

  private sharesEncryptedRoom(userId: string): boolean {
    const rooms = this.client.getRooms?.() ?? [];
    return rooms.some(
      (room) =>
        room.getMyMembership() === "join" &&
        room.hasEncryptionStateEvent() &&
        room.getMember(userId)?.membership === "join",
    );
  }

  async encryptToDeviceMessages(
    eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<EncryptedBatch> {
    const crypto = this.crypto();
    const users = [...new Set(devices.map((d) => d.userId))];
    // The driver asks for the device lists right before encrypting: reuse what it was given.
    const now = Date.now();
    const cached = users.map((userId) => this.deviceCache.get(userId, now)?.value);
    const known: DeviceInfoMap = cached.every((devices) => devices !== undefined)
      ? new Map(users.map((userId, i) => [userId, cached[i] as UserDevices]))
      : await crypto.getUserDeviceInfo(users, false);
    const listed = ({ userId, deviceId }: DeviceAddress) => {
      const device = known.get(userId)?.get(deviceId);
      if (device === undefined) return "unknown_device";
      return (device.verified as number) === BLOCKED ? "withheld" : "eligible";
    };
    // Every device's trust at once: the OlmMachine answers each from its store. Trusting every
    // device needs no answer, and no promise per device.
    const verdicts =
      this.outgoingTrust === "all-devices"
        ? devices.map(listed)
        : await Promise.all(
            devices.map(async (device) => {
              const verdict = listed(device);
              if (verdict !== "eligible") return verdict;
              return (await this.trusted(crypto, device.userId, device.deviceId))
                ? "eligible"
                : "withheld";
            }),
          );
    const failures: EncryptionFailure[] = [];
    const eligible: DeviceAddress[] = [];
    devices.forEach(({ userId, deviceId }, i) => {
      const verdict = verdicts[i] ?? "unknown_device";
      if (verdict === "eligible") eligible.push({ userId, deviceId });
      else failures.push({ userId, deviceId, reason: verdict });
    });
    const messages: DeviceMessage[] = [];
    if (eligible.length > 0) {
      for (const m of await this.encryptEligible(crypto, eventType, eligible, content))
        messages.push(m);
    }
    // matrix-js-sdk skips (with a log line) a device it cannot encrypt for: report it. When it
    // skipped none there is nothing to look for (and the sender checks coverage again).
    if (messages.length < eligible.length) {
      const encrypted = new Set(messages.map((m) => key(m.userId, m.deviceId)));
      for (const { userId, deviceId } of eligible)
        if (!encrypted.has(key(userId, deviceId)))
          failures.push({ userId, deviceId, reason: "no_olm_session" });
    }
    return { eventType: "m.room.encrypted", messages, failures };
  }

  private async trusted(crypto: CryptoApi, userId: string, deviceId: string): Promise<boolean> {
    if (this.outgoingTrust === "all-devices") return true;
    const status = await crypto.getDeviceVerificationStatus(userId, deviceId);
    if (status === null) return false;
    return this.outgoingTrust === "verified-only" ? status.isVerified() : status.signedByOwner;
  }

  /** One batch; if it throws (a device without a session does), one device at a time. */
  private async encryptEligible(
    crypto: CryptoApi,
    eventType: string,
    devices: ReadonlyArray<DeviceAddress>,
    content: JsonObject,
  ): Promise<DeviceMessage[]> {
    const toMessages = (batch: Awaited<ReturnType<CryptoApi["encryptToDeviceMessages"]>>) =>
      batch.batch.map(({ userId, deviceId, payload }) => ({
        userId,
        deviceId,
        content: payload as JsonObject,
      }));
    try {
      return toMessages(await crypto.encryptToDeviceMessages(eventType, [...devices], content));
    } catch (error) {
      // A key claim the homeserver refused is the request's failure, not one device's.
      if (typeof (error as { httpStatus?: unknown }).httpStatus === "number")
        throw toSendToDeviceError(error);
      this.logger.warn("encrypting to-device messages failed; trying device by device", error);
    }
    const each = await Promise.all(
      devices.map(async (device) => {
        try {
          return toMessages(await crypto.encryptToDeviceMessages(eventType, [device], content));
        } catch (error) {
          this.logger.warn(`cannot encrypt for ${device.userId} ${device.deviceId}`, error);
          return [];
        }
      }),
    );
    return each.flat();
  }

  async sendToDevice(
    eventType: string,
    messages: ReadonlyArray<DeviceMessage>,
    txnId: string,
  ): Promise<void> {
    this.assertLive();
    const contentMap = new Map<string, Map<string, Record<string, unknown>>>();
    for (const { userId, deviceId, content } of messages) {
      let devices = contentMap.get(userId);
      if (devices === undefined) {
        devices = new Map();
        contentMap.set(userId, devices);
      }
      devices.set(deviceId, content);
    }
    try {
      // With an explicit txnId, matrix-js-sdk makes exactly one request (it retries only after a
      // token refresh, with the same path): the driver owns retries, and the txnId.
      await this.client.sendToDevice(eventType, contentMap, txnId);
    } catch (error) {
      throw toSendToDeviceError(error);
    }
  }

  onToDeviceMessage(listener: (received: ReceivedToDeviceMessage) => void): () => void {
    this.assertLive();
    const handler = (payload: {
      message: { type: string; sender: string; content: unknown };
      encryptionInfo: {
        sender: string;
        senderDevice?: string | undefined;
        senderVerified: boolean;
      } | null;
    }) => {
      const { message, encryptionInfo } = payload;
      listener({
        message: message as ReceivedToDeviceEvent,
        encryptionInfo:
          encryptionInfo === null
            ? null
            : {
                sender: encryptionInfo.sender,
                senderDevice: encryptionInfo.senderDevice,
                senderVerified: encryptionInfo.senderVerified,
              },
      });
    };
    this.client.on(RECEIVED_TO_DEVICE_MESSAGE, handler);
    const unsubscribe = () => {
      this.client.off(RECEIVED_TO_DEVICE_MESSAGE, handler);
      this.unsubscribers.delete(unsubscribe);
    };
    this.unsubscribers.add(unsubscribe);
    return unsubscribe;
  }
}

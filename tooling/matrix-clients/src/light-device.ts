/**
 * A light recipient device for large fan-outs: a real Rust `OlmMachine` (the crypto matrix-js-sdk
 * uses, same package and version) that uploads its identity and one-time keys to Synapse and
 * decrypts what it receives, but runs no sync loop. Hundreds of them are cheap; full clients
 * each hold a long-poll open. Real Olm: the sender claims a real one-time key and encrypts
 * with a real Olm session; this device decrypts it.
 */
import {
  DecryptedToDeviceEvent,
  DeviceId,
  DeviceLists,
  initAsync,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  OlmMachine,
  SignatureUploadRequest,
  UserId,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import type { UserSession } from "@widget-todevice/homeserver";

export interface LightReceived {
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  /** `true` when it arrived as Olm and decrypted. */
  readonly encrypted: boolean;
  readonly senderDevice: string | undefined;
}

let initialised: Promise<void> | undefined;

export class LightDevice {
  /** Everything received, in arrival order. */
  readonly received: LightReceived[] = [];
  private since: string | undefined;

  private constructor(
    private readonly baseUrl: string,
    readonly session: UserSession,
    private readonly machine: OlmMachine,
  ) {}

  get userId(): string {
    return this.session.userId;
  }

  get deviceId(): string {
    return this.session.deviceId;
  }

  /** Creates the device's Olm account and uploads its keys. */
  static async create(baseUrl: string, session: UserSession): Promise<LightDevice> {
    initialised ??= initAsync();
    await initialised;
    const machine = await OlmMachine.initialize(
      new UserId(session.userId),
      new DeviceId(session.deviceId),
    );
    const device = new LightDevice(baseUrl, session, machine);
    await device.processOutgoingRequests();
    // The sync token from here on: only what is sent after creation is received.
    await device.syncOnce();
    return device;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}/_matrix/client/v3${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.session.accessToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text);
  }

  /** Sends what the OlmMachine wants sent (key uploads and queries) and feeds back the answers. */
  async processOutgoingRequests(): Promise<void> {
    for (const request of await this.machine.outgoingRequests()) {
      let path: string | undefined;
      if (request instanceof KeysUploadRequest) path = "/keys/upload";
      else if (request instanceof KeysQueryRequest) path = "/keys/query";
      else if (request instanceof KeysClaimRequest) path = "/keys/claim";
      else if (request instanceof SignatureUploadRequest) path = "/keys/signatures/upload";
      if (path === undefined) continue;
      const response = await this.request("POST", path, request.body);
      await this.machine.markRequestAsSent(
        request.id ?? "",
        request.type,
        JSON.stringify(response),
      );
    }
  }

  private async syncOnce(): Promise<number> {
    const filter = JSON.stringify({
      room: { rooms: [] },
      presence: { types: [] },
      account_data: { types: [] },
    });
    const query = new URLSearchParams({ timeout: "0", filter });
    if (this.since !== undefined) query.set("since", this.since);
    const body = (await this.request("GET", `/sync?${query}`)) as {
      next_batch: string;
      to_device?: { events?: unknown[] };
      device_one_time_keys_count?: Record<string, number>;
      device_unused_fallback_key_types?: string[];
    };
    this.since = body.next_batch;
    const events = body.to_device?.events ?? [];
    const processed = await this.machine.receiveSyncChanges(
      JSON.stringify(events),
      new DeviceLists(),
      new Map(Object.entries(body.device_one_time_keys_count ?? {})),
      new Set(body.device_unused_fallback_key_types ?? []),
    );
    for (const item of processed) {
      const raw = JSON.parse(item.rawEvent) as {
        type: string;
        sender: string;
        content: Record<string, unknown>;
      };
      if (item instanceof DecryptedToDeviceEvent) {
        this.received.push({
          type: raw.type,
          sender: raw.sender,
          content: raw.content,
          encrypted: true,
          senderDevice: item.encryptionInfo.senderDevice?.toString(),
        });
      } else if (raw.type !== "m.room.encrypted") {
        this.received.push({
          type: raw.type,
          sender: raw.sender,
          content: raw.content,
          encrypted: false,
          senderDevice: undefined,
        });
      }
    }
    return events.length;
  }

  /** Drains the device's to-device inbox (Synapse hands out at most 100 per sync). */
  async sync(): Promise<LightReceived[]> {
    while ((await this.syncOnce()) > 0) {
      // keep going until the inbox is empty
    }
    return this.received;
  }
}

/** Runs `work` over `items`, at most `concurrency` at a time, keeping the order of results. */
export async function mapLimited<T, R>(
  items: ReadonlyArray<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** `users` users with `devicesPerUser` light devices each (logins, key uploads). */
export async function lightFleet(
  hs: {
    baseUrl: string;
    registerUser(): Promise<UserSession>;
    login(userId: string, password: string): Promise<UserSession>;
  },
  users: number,
  devicesPerUser: number,
  concurrency = 8,
): Promise<LightDevice[]> {
  const owners = await mapLimited(Array.from({ length: users }), concurrency, () =>
    hs.registerUser(),
  );
  const sessions = await mapLimited(
    owners.flatMap((owner) => Array.from({ length: devicesPerUser }, () => owner)),
    concurrency,
    (owner) => hs.login(owner.userId, owner.password),
  );
  return mapLimited(sessions, concurrency, (session) => LightDevice.create(hs.baseUrl, session));
}

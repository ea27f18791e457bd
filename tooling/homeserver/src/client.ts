import { createHmac, randomBytes } from "node:crypto";

/** What tests need to reach a homeserver; plain data, so it can cross to vitest workers. */
export interface HomeserverInfo {
  /** Client-server API base, without a trailing slash, e.g. `http://127.0.0.1:38123`. */
  baseUrl: string;
  /** The server name in user IDs, e.g. `localhost`. */
  serverName: string;
  /** Synapse's `registration_shared_secret`. */
  registrationSecret: string;
}

export interface UserSession {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

export interface HomeserverClient extends HomeserverInfo {
  /**
   * Registers a user through the shared-secret admin API. Without a localpart, one unique to
   * this process and moment is made up; every call gets a new device ID.
   */
  registerUser(localpart?: string, password?: string): Promise<UserSession>;
  /** Password login; a new device each time unless `deviceId` is given. */
  login(userId: string, password: string, deviceId?: string): Promise<UserSession>;
}

let userCounter = 0;

/** Unique across processes and runs: the pid, the time and a counter. Lowercase, as Synapse wants. */
export function uniqueLocalpart(prefix = "user"): string {
  userCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${userCounter}`;
}

async function matrixJson(response: Response, what: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${what}: HTTP ${response.status} ${text}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, field: string, what: string): string {
  const value = body[field];
  if (typeof value !== "string") {
    throw new Error(`${what}: response has no string "${field}": ${JSON.stringify(body)}`);
  }
  return value;
}

export function homeserverClient(info: HomeserverInfo): HomeserverClient {
  const { baseUrl, registrationSecret } = info;

  async function registerUser(
    localpart = uniqueLocalpart(),
    password = randomBytes(12).toString("hex"),
  ): Promise<UserSession> {
    const what = `registering ${localpart} at ${baseUrl}`;
    const endpoint = `${baseUrl}/_synapse/admin/v1/register`;
    const nonce = stringField(await matrixJson(await fetch(endpoint), what), "nonce", what);
    // Synapse's documented MAC: HMAC-SHA1 over nonce, user, password and admin flag, NUL-separated.
    const mac = createHmac("sha1", registrationSecret)
      .update(`${nonce}\0${localpart}\0${password}\0notadmin`)
      .digest("hex");
    const body = await matrixJson(
      await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ nonce, username: localpart, password, admin: false, mac }),
      }),
      what,
    );
    return {
      userId: stringField(body, "user_id", what),
      accessToken: stringField(body, "access_token", what),
      deviceId: stringField(body, "device_id", what),
      password,
    };
  }

  async function login(userId: string, password: string, deviceId?: string): Promise<UserSession> {
    const what = `logging in ${userId} at ${baseUrl}`;
    const body = await matrixJson(
      await fetch(`${baseUrl}/_matrix/client/v3/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "m.login.password",
          identifier: { type: "m.id.user", user: userId },
          password,
          ...(deviceId === undefined ? {} : { device_id: deviceId }),
        }),
      }),
      what,
    );
    return {
      userId: stringField(body, "user_id", what),
      accessToken: stringField(body, "access_token", what),
      deviceId: stringField(body, "device_id", what),
      password,
    };
  }

  return { ...info, registerUser, login };
}

import { type HomeserverClient, homeserverClient } from "./client.js";

/**
 * A handle to a homeserver started outside this package, when the environment names one:
 * `WIDGET_TODEVICE_HOMESERVER_URL` and `WIDGET_TODEVICE_REGISTRATION_SECRET`, optionally
 * `WIDGET_TODEVICE_SERVER_NAME` (otherwise learnt from a throwaway registration).
 */
export async function existingHomeserverFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Promise<HomeserverClient | undefined> {
  const url = env.WIDGET_TODEVICE_HOMESERVER_URL;
  if (url === undefined || url === "") return undefined;
  const registrationSecret = env.WIDGET_TODEVICE_REGISTRATION_SECRET;
  if (registrationSecret === undefined || registrationSecret === "") {
    throw new Error(
      "WIDGET_TODEVICE_HOMESERVER_URL is set but WIDGET_TODEVICE_REGISTRATION_SECRET is not: it is needed to register test users",
    );
  }
  const baseUrl = url.replace(/\/+$/, "");
  let serverName = env.WIDGET_TODEVICE_SERVER_NAME;
  if (serverName === undefined || serverName === "") {
    const probe = await homeserverClient({
      baseUrl,
      serverName: "",
      registrationSecret,
    }).registerUser();
    serverName = probe.userId.slice(probe.userId.indexOf(":") + 1);
  }
  return homeserverClient({ baseUrl, serverName, registrationSecret });
}

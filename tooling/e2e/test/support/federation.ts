/**
 * Two Synapse servers federating over loopback (`startFederation` of the homeserver package),
 * one pair per test file that needs them: a file may halt and restart a server without
 * disturbing another file's pair.
 */
import { type Federation, type Homeserver, startFederation } from "@widget-todevice/homeserver";

export interface TestFederation {
  readonly federation: Federation;
  readonly hs1: Homeserver;
  readonly hs2: Homeserver;
}

const quietLog = process.env.WIDGET_TODEVICE_E2E_DEBUG === "1" ? undefined : () => undefined;

export async function startTestFederation(
  config?: Record<string, unknown>,
): Promise<TestFederation> {
  const federation = await startFederation({
    servers: 2,
    ...(config === undefined ? {} : { config }),
    ...(quietLog === undefined ? {} : { log: quietLog }),
  });
  const [hs1, hs2] = federation.servers as [Homeserver, Homeserver];
  return { federation, hs1, hs2 };
}

/** `@user:hs2.localhost:40123` -> `hs2.localhost:40123`. */
export function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(":") + 1);
}

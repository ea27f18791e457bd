import type { TestProject } from "vitest/node";
import { startHomeserver } from "./homeserver.js";
import type {} from "./provided-context.js";

/**
 * Vitest global setup: one real homeserver for the whole test run. Tests read it with
 * `homeserverClient(inject("homeserver"))`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const homeserver = await startHomeserver();
  project.provide("homeserver", homeserver.info());
  return () => homeserver.stop();
}

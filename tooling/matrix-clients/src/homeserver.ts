import { type HomeserverClient, homeserverClient } from "@widget-todevice/homeserver";
import { inject } from "vitest";

/** The Synapse the global setup started for this test run. */
export function homeserver(): HomeserverClient {
  return homeserverClient(inject("homeserver"));
}

// Loads vitest's types, which the augmentation below extends.
import type {} from "vitest";
import type { HomeserverInfo } from "./client.js";

/** What the vitest global setup provides; `inject("homeserver")` in tests. */
export interface HomeserverProvidedContext {
  homeserver: HomeserverInfo;
}

// Types `inject("homeserver")` wherever this package is imported.
declare module "vitest" {
  export interface ProvidedContext {
    homeserver: HomeserverInfo;
  }
}

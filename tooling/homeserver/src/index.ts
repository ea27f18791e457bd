export {
  type HomeserverClient,
  type HomeserverInfo,
  homeserverClient,
  type UserSession,
  uniqueLocalpart,
} from "./client.js";
export { existingHomeserverFromEnv } from "./existing-homeserver.js";
export { type Homeserver, type StartHomeserverOptions, startHomeserver } from "./homeserver.js";
export type { Log } from "./progress.js";
export type { HomeserverProvidedContext } from "./provided-context.js";
export {
  DEFAULT_SYNAPSE_ROOT,
  type Provisioned,
  type ProvisionOptions,
  provisionSynapse,
  synapseRoot,
} from "./provision.js";
export { type SynapseConfigInput, synapseConfig } from "./synapse-config.js";

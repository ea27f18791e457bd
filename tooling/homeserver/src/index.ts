export {
  type HomeserverClient,
  type HomeserverInfo,
  homeserverClient,
  type UserSession,
  uniqueLocalpart,
} from "./client.js";
export { existingHomeserverFromEnv } from "./existing-homeserver.js";
export {
  type Federation,
  type StartFederationOptions,
  startFederation,
} from "./federation.js";
export {
  type FederationOptions,
  type Homeserver,
  hostOf,
  type StartHomeserverOptions,
  startHomeserver,
} from "./homeserver.js";
export { ensureHostPackage } from "./host-packages.js";
export type { Log } from "./progress.js";
export type { HomeserverProvidedContext } from "./provided-context.js";
export {
  DEFAULT_SYNAPSE_ROOT,
  type Provisioned,
  type ProvisionOptions,
  provisionSynapse,
  synapseRoot,
} from "./provision.js";
export {
  type FederationConfigInput,
  federationListener,
  federationSynapseConfig,
  type SynapseConfigInput,
  synapseConfig,
} from "./synapse-config.js";
export {
  type CertificateAuthority,
  createCertificateAuthority,
  ensureOpenssl,
  issueServerCertificate,
  type ServerCertificate,
} from "./tls.js";

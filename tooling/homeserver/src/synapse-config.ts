/** Paths as Synapse sees them: the instance's data dir is bind-mounted here in the chroot. */
export const DATA_DIR_IN_CHROOT = "/data";

export interface SynapseConfigInput {
  serverName: string;
  bindAddress: string;
  port: number;
  registrationSecret: string;
  macaroonSecret: string;
  formSecret: string;
}

/** Limits no test should ever reach: tests register, log in and send in bursts. */
const UNLIMITED = { per_second: 100_000, burst_count: 1_000_000 };

/**
 * The homeserver.yaml for a test server. Written as JSON, which is YAML too, so that no YAML
 * library is needed. Everything a single-server test needs; federation is off.
 */
export function synapseConfig(input: SynapseConfigInput): Record<string, unknown> {
  const data = DATA_DIR_IN_CHROOT;
  const baseUrl = `http://${input.bindAddress}:${input.port}`;
  return {
    server_name: input.serverName,
    public_baseurl: `${baseUrl}/`,
    pid_file: `${data}/homeserver.pid`,
    listeners: [
      {
        port: input.port,
        bind_addresses: [input.bindAddress],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    database: { name: "sqlite3", args: { database: `${data}/homeserver.db` } },
    media_store_path: `${data}/media_store`,
    signing_key_path: `${data}/signing.key`,
    registration_shared_secret: input.registrationSecret,
    macaroon_secret_key: input.macaroonSecret,
    form_secret: input.formSecret,
    report_stats: false,
    // Password hashing at the default cost (12) takes about 0.25 s per registration or login.
    bcrypt_rounds: 4,
    enable_metrics: false,
    enable_registration: true,
    enable_registration_without_verification: true,
    // No key server and no federation: the machine reaches nothing outside, and tests must not
    // wait on a lookup that times out.
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    federation_domain_whitelist: [],
    presence: { enabled: false },
    url_preview_enabled: false,
    // Synapse's defaults throttle registrations, logins, messages and room key requests (a
    // to-device type) far below what a test burst does.
    rc_message: UNLIMITED,
    rc_registration: UNLIMITED,
    rc_registration_token_validity: UNLIMITED,
    rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
    rc_admin_redaction: UNLIMITED,
    rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    rc_joins_per_room: UNLIMITED,
    rc_3pid_validation: UNLIMITED,
    rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
    rc_third_party_invite: UNLIMITED,
    rc_key_requests: UNLIMITED,
    rc_media_create: UNLIMITED,
    rc_presence: { per_user: UNLIMITED },
    rc_delayed_event_mgmt: UNLIMITED,
    rc_room_creation: UNLIMITED,
    rc_reports: UNLIMITED,
    rc_user_directory: UNLIMITED,
  };
}

export interface FederationConfigInput {
  bindAddress: string;
  /** The TLS listener's port: the port in the server name, where peers connect. */
  federationPort: number;
  /** Every server name in the federation (this one included), with ports. */
  serverNames: ReadonlyArray<string>;
}

/** Where a federating server's TLS files are, as Synapse sees them (copied into the data dir). */
export const TLS_FILES_IN_CHROOT = {
  cert: `${DATA_DIR_IN_CHROOT}/tls.crt`,
  key: `${DATA_DIR_IN_CHROOT}/tls.key`,
  ca: `${DATA_DIR_IN_CHROOT}/federation-ca.crt`,
} as const;

/**
 * What a test server needs on top of `synapseConfig` to federate with the others over loopback
 * only: a TLS listener for `federation` and `keys` with a certificate from the test CA, trust in
 * that CA alone, loopback allowed as a federation target (Synapse's default IP blacklist covers
 * it), federation limited to the named servers, no key servers, and no throttling of what the
 * peers send.
 */
export function federationSynapseConfig(input: FederationConfigInput): Record<string, unknown> {
  return {
    tls_certificate_path: TLS_FILES_IN_CHROOT.cert,
    tls_private_key_path: TLS_FILES_IN_CHROOT.key,
    federation_verify_certificates: true,
    federation_custom_ca_list: [TLS_FILES_IN_CHROOT.ca],
    // An empty list turns federation off; a list lets exactly these servers in and out.
    federation_domain_whitelist: [...input.serverNames],
    ip_range_whitelist: [input.bindAddress],
    trusted_key_servers: [],
    rc_federation: {
      window_size: 1000,
      sleep_limit: 1_000_000,
      sleep_delay: 1,
      reject_limit: 1_000_000,
      concurrent: 1_000,
    },
    federation_rr_transactions_per_room_per_second: 100_000,
  };
}

/** The TLS listener of a federating server. */
export function federationListener(bindAddress: string, port: number): Record<string, unknown> {
  return {
    port,
    bind_addresses: [bindAddress],
    type: "http",
    tls: true,
    x_forwarded: false,
    resources: [{ names: ["federation", "keys"], compress: false }],
  };
}

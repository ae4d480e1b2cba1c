import {
  commonConfigSchema,
  field,
  loadConfig,
  type ConfigOf,
} from '@trustplane/platform/dist/light.js';

/** Default socket path; advertise it to workloads as `SPIFFE_ENDPOINT_SOCKET=unix:///run/trustplane/agent/api.sock`. */
export const DEFAULT_AGENT_SOCKET_PATH = '/run/trustplane/agent/api.sock';

/**
 * Settings of the agent's workload-facing half. The agent core (node attestation, signer
 * connection) adds its own `TP_AGENT_*` keys here.
 */
export const agentConfigSchema = {
  logLevel: commonConfigSchema.logLevel,
  socketPath: field.string(
    'TP_AGENT_SOCKET_PATH',
    'Unix socket of the Workload API (parent directory created 0755, socket 0777: identity comes from SO_PEERCRED)',
    { default: DEFAULT_AGENT_SOCKET_PATH, pattern: /^\/[^\0]*[^/]$/ },
  ),
  procRoot: field.string(
    'TP_AGENT_PROC_ROOT',
    'procfs mount used for workload attestation (e.g. /host/proc in a container)',
    {
      default: '/proc',
      pattern: /^\//,
    },
  ),
  passwdPath: field.string('TP_AGENT_PASSWD_PATH', 'passwd database for unix:user selectors', {
    default: '/etc/passwd',
    pattern: /^\//,
  }),
  groupPath: field.string('TP_AGENT_GROUP_PATH', 'group database for unix:group selectors', {
    default: '/etc/group',
    pattern: /^\//,
  }),
  hashExecutables: field.bool(
    'TP_AGENT_HASH_EXECUTABLES',
    'compute unix:sha256 selectors (digest cached per file version)',
    {
      default: true,
    },
  ),
  maxConnections: field.int(
    'TP_AGENT_MAX_CONNECTIONS',
    'most Workload API connections open at once; further ones are closed at accept (each holds a socket and a pidfd)',
    { default: 10_000, min: 1, max: 1_000_000 },
  ),
  jwtCacheSize: field.int('TP_AGENT_JWT_CACHE_SIZE', 'largest number of cached JWT-SVIDs', {
    default: 10_000,
    min: 1,
    max: 1_000_000,
  }),
  // -- the agent core: node attestation and the signer connection --
  serverAddress: field.optional(
    field.string('TP_AGENT_SERVER_ADDRESS', "the signer's agent API, host:port", {
      pattern: /^[^\s:/]+:\d{1,5}$/,
    }),
  ),
  trustDomainId: field.optional(
    field.string('TP_AGENT_TRUST_DOMAIN_ID', 'trust domain ID (td-…) the agent joins', {
      pattern: /^td-[0-9a-z]{10}$/,
    }),
  ),
  trustDomain: field.optional(
    field.string('TP_AGENT_TRUST_DOMAIN', 'trust domain name (e.g. example.org)', {
      pattern: /^[a-z0-9._-]+$/,
    }),
  ),
  clusterId: field.optional(
    field.string('TP_AGENT_CLUSTER_ID', 'cluster ID (c-…); required with a cluster key', {
      pattern: /^c-[0-9a-z]{10}$/,
    }),
  ),
  nodeName: field.optional(
    field.string('TP_AGENT_NODE_NAME', 'node name inside the cluster (default: the host name)', {
      pattern: /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
    }),
  ),
  joinToken: field.optional(
    field.string('TP_AGENT_JOIN_TOKEN', 'single-use join token for the first attestation', {
      secret: true,
    }),
  ),
  clusterKeyPath: field.optional(
    field.string(
      'TP_AGENT_CLUSTER_KEY_PATH',
      "file holding the cluster's Ed25519 private key (PKCS#8 PEM, or base64 DER)",
      { pattern: /^\// },
    ),
  ),
  trustBundlePath: field.optional(
    field.string(
      'TP_AGENT_TRUST_BUNDLE_PATH',
      'PEM CA certificates to verify the signer with on the first attestation (`tpctl trust-domain bundle <td>`); required unless TP_AGENT_INSECURE_BOOTSTRAP=true',
      { pattern: /^\// },
    ),
  ),
  insecureBootstrap: field.bool(
    'TP_AGENT_INSECURE_BOOTSTRAP',
    'attest without verifying the signer (trial setups only): the bundle received is pinned afterwards',
    { default: false },
  ),
  dataDir: field.string(
    'TP_AGENT_DATA_DIR',
    'directory for the agent key, SVID and last bundle (created 0700, files 0600)',
    { default: '/var/lib/trustplane/agent', pattern: /^\// },
  ),
  healthHost: field.string('TP_AGENT_HEALTH_HOST', 'address of /healthz, /readyz and /metrics', {
    default: '127.0.0.1',
  }),
  healthPort: field.int(
    'TP_AGENT_HEALTH_PORT',
    'port of /healthz, /readyz and /metrics (0 = any)',
    {
      default: 8088,
      min: 0,
      max: 65535,
    },
  ),
} as const;

/** The agent's typed, frozen configuration. */
export type AgentConfig = ConfigOf<typeof agentConfigSchema>;

/**
 * How the agent trusts the signer on its first attestation: the configured bundle, or, only when
 * explicitly asked for, nobody (the bundle it then receives is pinned from there on).
 * @returns an error message when the settings leave it undecided or contradict each other.
 */
export function bootstrapTrustProblem(
  config: Pick<AgentConfig, 'trustBundlePath' | 'insecureBootstrap'>,
): string | undefined {
  if (config.trustBundlePath !== undefined && config.insecureBootstrap) {
    return 'TP_AGENT_TRUST_BUNDLE_PATH and TP_AGENT_INSECURE_BOOTSTRAP=true contradict each other; set one';
  }
  if (config.trustBundlePath === undefined && !config.insecureBootstrap) {
    return (
      'TP_AGENT_TRUST_BUNDLE_PATH is required to verify the signer on the first attestation ' +
      '(`tpctl trust-domain bundle <trust domain> > bundle.pem`); TP_AGENT_INSECURE_BOOTSTRAP=true skips that check'
    );
  }
  return undefined;
}

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE); unknown `TP_AGENT_*` keys are errors. */
export function loadAgentConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): AgentConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  return loadConfig(agentConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_AGENT_'],
    ...(file === undefined ? {} : { file }),
  });
}

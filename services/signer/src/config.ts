import { parsePathRoots, parseUrlPrefixes } from '@trustplane/keymanager';
import {
  ConfigError,
  commonConfigSchema,
  field,
  loadConfig,
  SERVICE_NAMES,
  servicePrefix,
  type ConfigOf,
} from '@trustplane/platform';

/** Every setting of the signer. */
export const signerConfigSchema = {
  ...commonConfigSchema,
  host: field.string('TP_SIGNER_HOST', 'address of the health/metrics endpoint', { default: '127.0.0.1' }),
  port: field.int('TP_SIGNER_PORT', 'port of the health/metrics endpoint (0 = any)', { default: 8081, min: 0, max: 65535 }),
  schema: field.string('TP_SIGNER_DB_SCHEMA', 'Postgres schema owned by the signer', { default: 'signer', pattern: /^[a-z_][a-z0-9_]*$/ }),
  custodyDir: field.string('TP_SIGNER_CUSTODY_DIR', 'directory for the key custody sockets (created 0700)', { default: '/tmp/trustplane-signer' }),
  keyManager: field.oneOf('TP_SIGNER_KEY_MANAGER', 'default KeyManager: memory (tests) or disk', ['memory', 'disk'], { default: 'disk' }),
  keyDir: field.string('TP_SIGNER_KEY_DIR', 'sealed key directory of the disk KeyManager', { default: '.local/signer/keys' }),
  kekPath: field.string('TP_SIGNER_KEK_PATH', 'key-encryption key file of the disk KeyManager and of sealed webhook tokens (created 0600 if missing)', {
    default: '.local/signer/kek',
  }),
  keyType: field.oneOf('TP_SIGNER_KEY_TYPE', 'CA key type', ['ec-p256', 'ec-p384', 'rsa-2048'], { default: 'ec-p256' }),
  caTtlSeconds: field.int('TP_SIGNER_CA_TTL_SECONDS', 'lifetime of each CA', { default: 86_400, min: 60, max: 10 * 365 * 86_400 }),
  x509SvidTtlSeconds: field.int('TP_SIGNER_X509_SVID_TTL_SECONDS', 'default X.509-SVID lifetime', { default: 3_600, min: 10, max: 30 * 86_400 }),
  jwtSvidTtlSeconds: field.int('TP_SIGNER_JWT_SVID_TTL_SECONDS', 'default JWT-SVID lifetime', { default: 300, min: 10, max: 86_400 }),
  agentHost: field.string('TP_SIGNER_AGENT_HOST', 'address of the agent-facing gRPC (mTLS) API', { default: '0.0.0.0' }),
  agentPort: field.int('TP_SIGNER_AGENT_PORT', 'port of the agent-facing gRPC (mTLS) API (0 = any)', { default: 8443, min: 0, max: 65535 }),
  agentSvidTtlSeconds: field.int('TP_SIGNER_AGENT_SVID_TTL_SECONDS', 'lifetime of agent X.509-SVIDs', { default: 3_600, min: 60, max: 30 * 86_400 }),
  tenantPathRoots: field.list(
    'TP_SIGNER_KM_PATH_ROOTS',
    'directories (comma-separated, {tenant} = organization id) that file paths of tenant key-manager sections must lie in; empty refuses every path',
    parsePathRoots,
  ),
  tenantWebhookUrls: field.list(
    'TP_SIGNER_KM_WEBHOOK_URLS',
    'https:// URL prefixes (comma-separated) that tenant webhook key managers must use; empty refuses webhooks',
    parseUrlPrefixes,
  ),
  mode: field.oneOf('TP_SIGNER_MODE', 'managed: serves the managed deployments of this installation\'s event log; self-hosted: serves one deployment of a self-hosted trust domain, fed by the control plane\'s sync stream', ['managed', 'self-hosted'], {
    default: 'managed',
  }),
  deploymentId: field.optional(field.string('TP_SIGNER_DEPLOYMENT_ID', 'self-hosted: the deployment (tdd-…) this signer serves', { pattern: /^tdd-[a-z0-9]{10}$/ })),
  deploymentKeyId: field.optional(field.string('TP_SIGNER_DEPLOYMENT_KEY_ID', 'self-hosted: the deployment key id (tdk-…)', { pattern: /^tdk-[a-z0-9]{10}$/ })),
  deploymentPrivateKey: field.optional(field.string('TP_SIGNER_DEPLOYMENT_PRIVATE_KEY', 'self-hosted: the deployment key\'s Ed25519 private key (PKCS#8 PEM)', { secret: true })),
  deploymentPrivateKeyFile: field.optional(field.string('TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE', 'self-hosted: file holding the deployment key\'s private key (instead of TP_SIGNER_DEPLOYMENT_PRIVATE_KEY)')),
  controlPlaneUrl: field.optional(field.url('TP_SIGNER_CONTROL_PLANE_URL', 'self-hosted: base URL of the control plane (sync API and credential exchange)', { protocols: ['http', 'https'] })),
  mirrorNatsUser: field.optional(
    field.string('TP_SIGNER_MIRROR_NATS_USER', 'self-hosted: NATS user of this installation\'s own bus that records the control plane\'s state as registry events (its registry user)'),
  ),
  mirrorNatsPassword: field.optional(field.string('TP_SIGNER_MIRROR_NATS_PASSWORD', 'password of TP_SIGNER_MIRROR_NATS_USER', { secret: true })),
  reportIntervalMs: field.int('TP_SIGNER_REPORT_INTERVAL_MS', 'self-hosted: how often the signer reports its CA keysets, agents and status (also after every change)', {
    default: 60_000,
    min: 100,
    max: 3_600_000,
  }),
  tickMs: field.int('TP_SIGNER_TICK_MS', 'how often the rotation worker checks the schedule', { default: 1_000, min: 50, max: 60_000 }),
} as const;

/** The signer's typed, frozen configuration. */
export type SignerConfig = ConfigOf<typeof signerConfigSchema>;

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE). */
export function loadSignerConfig(env: Readonly<Record<string, string | undefined>> = process.env): SignerConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  const config = loadConfig(signerConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_'],
    foreignPrefixes: SERVICE_NAMES.filter((s) => s !== 'signer').map(servicePrefix),
    ...(file === undefined ? {} : { file }),
  });
  checkSelfHosted(config);
  return config;
}

/** Self-hosted mode needs its deployment, key and control plane; managed mode none of them. */
function checkSelfHosted(config: SignerConfig): void {
  const selfHostedOnly = {
    TP_SIGNER_DEPLOYMENT_ID: config.deploymentId,
    TP_SIGNER_DEPLOYMENT_KEY_ID: config.deploymentKeyId,
    TP_SIGNER_CONTROL_PLANE_URL: config.controlPlaneUrl,
    TP_SIGNER_MIRROR_NATS_USER: config.mirrorNatsUser,
  };
  if (config.mode === 'managed') {
    const set = Object.entries(selfHostedOnly).filter(([, value]) => value !== undefined).map(([key]) => key);
    if (set[0] !== undefined) throw new ConfigError('CONFIG_INVALID', set[0], 'only used with TP_SIGNER_MODE=self-hosted');
    return;
  }
  const missing = Object.entries(selfHostedOnly).find(([, value]) => value === undefined);
  if (missing !== undefined) throw new ConfigError('CONFIG_MISSING', missing[0], 'required with TP_SIGNER_MODE=self-hosted');
  if ((config.deploymentPrivateKey === undefined) === (config.deploymentPrivateKeyFile === undefined)) {
    throw new ConfigError('CONFIG_INVALID', 'TP_SIGNER_DEPLOYMENT_PRIVATE_KEY', 'give exactly one of TP_SIGNER_DEPLOYMENT_PRIVATE_KEY and TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE');
  }
}

import { parsePathRoots, parseUrlPrefixes } from '@trustplane/keymanager';
import {
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
  tickMs: field.int('TP_SIGNER_TICK_MS', 'how often the rotation worker checks the schedule', { default: 1_000, min: 50, max: 60_000 }),
} as const;

/** The signer's typed, frozen configuration. */
export type SignerConfig = ConfigOf<typeof signerConfigSchema>;

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE). */
export function loadSignerConfig(env: Readonly<Record<string, string | undefined>> = process.env): SignerConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  return loadConfig(signerConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_'],
    foreignPrefixes: SERVICE_NAMES.filter((s) => s !== 'signer').map(servicePrefix),
    ...(file === undefined ? {} : { file }),
  });
}

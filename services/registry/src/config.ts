import { parsePathRoots, parseUrlPrefixes } from '@trustplane/keymanager';
import { parseBundleEndpointPrefixes } from '@trustplane/federation-domain';
import {
  commonConfigSchema,
  field,
  loadConfig,
  SERVICE_NAMES,
  servicePrefix,
  type ConfigOf,
} from '@trustplane/platform';

/** Every setting of the registry service. */
export const registryConfigSchema = {
  ...commonConfigSchema,
  host: field.string('TP_REGISTRY_HOST', 'address the REST API listens on', { default: '127.0.0.1' }),
  port: field.int('TP_REGISTRY_PORT', 'port of the REST API (0 = any free port)', { default: 8080, min: 0, max: 65535 }),
  publicBaseUrl: field.url('TP_REGISTRY_PUBLIC_BASE_URL', 'base URL shown for bundle / JWKS / OIDC endpoints', {
    default: 'http://127.0.0.1:8080',
    protocols: ['http', 'https'],
  }),
  bodyLimitBytes: field.int('TP_REGISTRY_BODY_LIMIT_BYTES', 'largest accepted request body', {
    default: 64 * 1024,
    min: 1024,
    max: 10 * 1024 * 1024,
  }),
  apiDatabaseUrl: field.optional(
    field.url('TP_REGISTRY_API_DATABASE_URL', 'connection of the API read role (defaults to DATABASE_URL as TP_REGISTRY_API_DB_ROLE)', {
      protocols: ['postgres', 'postgresql'],
    }),
  ),
  apiDbRole: field.string('TP_REGISTRY_API_DB_ROLE', 'database role the API reads as (subject to row-level security)', {
    default: 'tp_registry_api',
    pattern: /^[a-z_][a-z0-9_]*$/,
  }),
  signerTimeoutMs: field.int('TP_REGISTRY_SIGNER_TIMEOUT_MS', 'how long to wait for the signer to answer a keyset request', {
    default: 5000,
    min: 100,
    max: 60_000,
  }),
  keyManagerPathRoots: field.list(
    'TP_REGISTRY_KM_PATH_ROOTS',
    'directories (comma-separated, {tenant} = organization id) that file paths of key-manager sections must lie in; empty refuses every path (set as TP_SIGNER_KM_PATH_ROOTS)',
    parsePathRoots,
  ),
  keyManagerWebhookUrls: field.list(
    'TP_REGISTRY_KM_WEBHOOK_URLS',
    'https:// URL prefixes (comma-separated) webhook key managers must use; empty refuses webhooks (set as TP_SIGNER_KM_WEBHOOK_URLS)',
    parseUrlPrefixes,
  ),
  projectionWaitMs: field.int('TP_REGISTRY_PROJECTION_WAIT_MS', 'how long a committed write waits for the read models before it is answered 202 Accepted', {
    default: 5000,
    min: 0,
    max: 60_000,
  }),
  idempotencyRetentionSeconds: field.int('TP_REGISTRY_IDEMPOTENCY_RETENTION_SECONDS', 'how long the outcome of a request with an Idempotency-Key is kept (secrets never are)', {
    default: 86_400,
    min: 60,
    max: 30 * 86_400,
  }),
  idempotencyClaimMs: field.int('TP_REGISTRY_IDEMPOTENCY_CLAIM_MS', 'how long a request holds its Idempotency-Key before a retry may take the key over (after a crash)', {
    default: 15_000,
    min: 500,
    max: 600_000,
  }),
  reconcileGraceMs: field.int('TP_REGISTRY_RECONCILE_GRACE_MS', 'how long a half-done trust domain create or delete may stay half-done before the reconciler finishes or releases it', {
    default: 60_000,
    min: 500,
    max: 86_400_000,
  }),
  reconcileIntervalMs: field.int('TP_REGISTRY_RECONCILE_INTERVAL_MS', 'how often the reconciler looks for half-done work and expired idempotency records', {
    default: 10_000,
    min: 100,
    max: 3_600_000,
  }),
  authUrl: field.optional(
    field.url('TP_REGISTRY_AUTH_URL', 'base URL of the auth service: its routes (deployment keys, credential exchange, audit) are forwarded there, and the sync API verifies control-plane credentials with its JWKS ({url}/api/v1/auth/jwks); unset: those routes answer 503', {
      protocols: ['http', 'https'],
    }),
  ),
  schema: field.string('TP_REGISTRY_DB_SCHEMA', 'Postgres schema owned by the registry', {
    default: 'registry',
    pattern: /^[a-z_][a-z0-9_]*$/,
  }),
  federationUrls: field.list(
    'TP_REGISTRY_FEDERATION_URLS',
    'https:// URL prefixes (comma-separated) that bundle endpoints of external federation peers must lie under; empty refuses external peers',
    parseBundleEndpointPrefixes,
  ),
  publicBundleBaseUrl: field.optional(
    field.url('TP_REGISTRY_PUBLIC_BUNDLE_BASE_URL', 'public base URL of the federation service (its TP_FEDERATION_PUBLIC_BASE_URL): trust domains show their bundle, JWKS, OIDC discovery and JWT issuer URLs under it; unset, they show none', {
      protocols: ['http', 'https'],
    }),
  ),
} as const;

/** The registry's typed, frozen configuration. */
export type RegistryConfig = ConfigOf<typeof registryConfigSchema>;

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE). */
export function loadRegistryConfig(env: Readonly<Record<string, string | undefined>> = process.env): RegistryConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  return loadConfig(registryConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_'],
    foreignPrefixes: SERVICE_NAMES.filter((s) => s !== 'registry').map(servicePrefix),
    ...(file === undefined ? {} : { file }),
  });
}

/** The API role's connection URL: explicit, or DATABASE_URL with the role as user and no password. */
export function apiDatabaseUrlOf(config: RegistryConfig): string {
  if (config.apiDatabaseUrl !== undefined) return config.apiDatabaseUrl;
  const url = new URL(config.databaseUrl);
  url.username = config.apiDbRole;
  url.password = '';
  return url.toString();
}

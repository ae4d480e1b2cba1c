import { roleDatabaseUrl } from '@trustplane/api-kit';
import { CREDENTIAL_MAX_LIFETIME_SECONDS } from '@trustplane/auth-client';
import { commonConfigSchema, field, loadConfig, SERVICE_NAMES, servicePrefix, type ConfigOf } from '@trustplane/platform';

/** Every setting of the auth service. */
export const authConfigSchema = {
  ...commonConfigSchema,
  host: field.string('TP_AUTH_HOST', 'address the REST API listens on', { default: '127.0.0.1' }),
  port: field.int('TP_AUTH_PORT', 'port of the REST API (0 = any free port)', { default: 8082, min: 0, max: 65535 }),
  bodyLimitBytes: field.int('TP_AUTH_BODY_LIMIT_BYTES', 'largest accepted request body', { default: 64 * 1024, min: 1024, max: 1024 * 1024 }),
  schema: field.string('TP_AUTH_DB_SCHEMA', 'Postgres schema owned by the auth service', { default: 'auth', pattern: /^[a-z_][a-z0-9_]*$/ }),
  apiDatabaseUrl: field.optional(
    field.url('TP_AUTH_API_DATABASE_URL', 'connection of the API read role (defaults to DATABASE_URL as TP_AUTH_API_DB_ROLE)', {
      protocols: ['postgres', 'postgresql'],
    }),
  ),
  apiDbRole: field.string('TP_AUTH_API_DB_ROLE', 'database role the API reads as (subject to row-level security)', {
    default: 'tp_auth_api',
    pattern: /^[a-z_][a-z0-9_]*$/,
  }),
  credentialTtlSeconds: field.int('TP_AUTH_CREDENTIAL_TTL_SECONDS', 'lifetime of a control-plane credential (at most 24 h)', {
    default: CREDENTIAL_MAX_LIFETIME_SECONDS,
    min: 1,
    max: CREDENTIAL_MAX_LIFETIME_SECONDS,
  }),
  keyManager: field.oneOf('TP_AUTH_KEY_MANAGER', 'KeyManager of the credential signing key: disk (sealed under TP_AUTH_KEK_PATH) or memory (tests)', ['disk', 'memory'], {
    default: 'disk',
  }),
  keyDir: field.string('TP_AUTH_KEY_DIR', 'sealed key directory of the disk KeyManager', { default: '.local/auth/keys' }),
  kekPath: field.string('TP_AUTH_KEK_PATH', 'key-encryption key file of the disk KeyManager (created 0600 if missing)', { default: '.local/auth/kek' }),
  signingKeyId: field.string('TP_AUTH_SIGNING_KEY_ID', 'handle of the credential signing key in the KeyManager (one per replica with its own store)', {
    default: 'control-plane-credentials',
    pattern: /^[A-Za-z0-9_.-]{1,100}$/,
  }),
  auditAnchorIntervalMs: field.int('TP_AUTH_AUDIT_ANCHOR_INTERVAL_MS', 'how often the head of every organization\'s audit chain is anchored in the event log (0 = only on demand)', {
    default: 60_000,
    min: 0,
    max: 86_400_000,
  }),
  projectionWaitMs: field.int('TP_AUTH_PROJECTION_WAIT_MS', 'how long a committed write waits for the read models before it is answered 202 Accepted', {
    default: 5000,
    min: 0,
    max: 60_000,
  }),
  idempotencyRetentionSeconds: field.int('TP_AUTH_IDEMPOTENCY_RETENTION_SECONDS', 'how long the outcome of a request with an Idempotency-Key is kept (secrets never are)', {
    default: 86_400,
    min: 60,
    max: 30 * 86_400,
  }),
  idempotencyClaimMs: field.int('TP_AUTH_IDEMPOTENCY_CLAIM_MS', 'how long a request holds its Idempotency-Key before a retry may take the key over', {
    default: 15_000,
    min: 500,
    max: 600_000,
  }),
} as const;

/** The auth service's typed, frozen configuration. */
export type AuthConfig = ConfigOf<typeof authConfigSchema>;

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE). */
export function loadAuthConfig(env: Readonly<Record<string, string | undefined>> = process.env): AuthConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  return loadConfig(authConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_'],
    foreignPrefixes: SERVICE_NAMES.filter((s) => s !== 'auth').map(servicePrefix),
    ...(file === undefined ? {} : { file }),
  });
}

/** The API role's connection URL. */
export function apiDatabaseUrlOf(config: AuthConfig): string {
  return roleDatabaseUrl(config.databaseUrl, config.apiDbRole, config.apiDatabaseUrl);
}

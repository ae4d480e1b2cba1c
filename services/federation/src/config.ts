import {
  commonConfigSchema,
  field,
  loadConfig,
  SERVICE_NAMES,
  servicePrefix,
  type ConfigOf,
} from '@trustplane/platform';

/** Every setting of the federation service (the public bundle publisher). */
export const federationConfigSchema = {
  ...commonConfigSchema,
  host: field.string('TP_FEDERATION_HOST', 'address the public bundle endpoints listen on', { default: '127.0.0.1' }),
  port: field.int('TP_FEDERATION_PORT', 'port of the public bundle endpoints, /healthz, /readyz and /metrics (0 = any free port)', {
    default: 8083,
    min: 0,
    max: 65535,
  }),
  publicBaseUrl: field.url(
    'TP_FEDERATION_PUBLIC_BASE_URL',
    'public base URL of this service: the OIDC issuer of a trust domain is <base>/<org-id>/<td-id> (set the registry\'s TP_REGISTRY_PUBLIC_BASE_URL to the same)',
    { default: 'http://127.0.0.1:8083', protocols: ['http', 'https'] },
  ),
  writerNatsUser: field.optional(field.string('TP_FEDERATION_WRITER_NATS_USER', 'NATS user the fetcher records peer bundles as (tp-federation-writer); unset, external peers are not fetched')),
  writerNatsPassword: field.optional(field.string('TP_FEDERATION_WRITER_NATS_PASSWORD', 'password of TP_FEDERATION_WRITER_NATS_USER', { secret: true })),
  webCaFile: field.optional(field.string('TP_FEDERATION_WEB_CA_FILE', 'PEM file of CA certificates https_web peers are checked against instead of the system roots (tests, private PKI)')),
  minPollMs: field.int('TP_FEDERATION_MIN_POLL_MS', 'shortest interval between two fetches of one peer (also the first backoff step)', { default: 5_000, min: 100, max: 3_600_000 }),
  maxPollMs: field.int('TP_FEDERATION_MAX_POLL_MS', 'longest interval between two fetches of one peer (refresh hints and backoff are capped here)', { default: 3_600_000, min: 1_000, max: 86_400_000 }),
  fetchTimeoutMs: field.int('TP_FEDERATION_FETCH_TIMEOUT_MS', 'how long one fetch of a peer bundle may take', { default: 10_000, min: 100, max: 120_000 }),
} as const;

/** The federation service's typed, frozen configuration. */
export type FederationConfig = ConfigOf<typeof federationConfigSchema>;

/** Reads and validates the configuration from the environment (and TP_CONFIG_FILE). */
export function loadFederationConfig(env: Readonly<Record<string, string | undefined>> = process.env): FederationConfig {
  const { TP_CONFIG_FILE: file, ...rest } = env;
  return loadConfig(federationConfigSchema, {
    env: rest,
    ownedPrefixes: ['TP_'],
    foreignPrefixes: SERVICE_NAMES.filter((s) => s !== 'federation').map(servicePrefix),
    ...(file === undefined ? {} : { file }),
  });
}

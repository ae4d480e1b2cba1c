import { field } from './config.js';

/** Names of the services; each owns the env prefix `TP_<NAME>_`. */
export const SERVICE_NAMES = ['registry', 'auth', 'signer', 'revocation', 'federation', 'agent'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Env prefix owned by a service. */
export function servicePrefix(service: ServiceName): string {
  return `TP_${service.toUpperCase()}_`;
}

/** Settings every service shares: where the event log and database are, logging, tracing. */
export const commonConfigSchema = {
  natsUrl: field.url('NATS_URL', 'NATS server(s) holding the event log', {
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats', 'tls'],
  }),
  natsUser: field.optional(field.string('TP_NATS_USER', 'NATS user the service connects as')),
  natsPassword: field.optional(field.string('TP_NATS_PASSWORD', 'password of TP_NATS_USER', { secret: true })),
  natsAllowAnonymous: field.bool(
    'TP_NATS_ALLOW_ANONYMOUS',
    'start even though the NATS server accepts anonymous connections (throw-away setups only; /readyz and the log say so)',
    { default: false },
  ),
  databaseUrl: field.url('DATABASE_URL', 'PostgreSQL connection URL', {
    default: 'postgres://postgres@127.0.0.1:5432/trustplane',
    protocols: ['postgres', 'postgresql'],
    secret: false,
  }),
  eventStream: field.string('TP_EVENT_STREAM', 'JetStream stream holding every domain event', {
    default: 'TP_EVENTS',
    pattern: /^[A-Za-z0-9_-]+$/,
  }),
  subjectPrefix: field.string('TP_SUBJECT_PREFIX', 'first token of every event subject', {
    default: 'tp',
    pattern: /^[A-Za-z0-9_-]+$/,
  }),
  streamReplicas: field.int('TP_STREAM_REPLICAS', 'replicas of the event stream (3 in a cluster)', {
    default: 1,
    min: 1,
    max: 5,
  }),
  startupWaitSeconds: field.int(
    'TP_STARTUP_WAIT_SECONDS',
    'how long a starting service waits for PostgreSQL and NATS to answer before it gives up (exit 1)',
    { default: 120, min: 0, max: 86_400 },
  ),
  readyMaxLagSeconds: field.int(
    'TP_READY_MAX_LAG_SECONDS',
    'how long a projection may stay behind the event log before /readyz answers 503 (its lag in the body)',
    { default: 5, min: 1, max: 3_600 },
  ),
  readyAppendFailureSeconds: field.int(
    'TP_READY_APPEND_FAILURE_SECONDS',
    'how long /readyz answers 503 after an append to the event log failed (store full, no JetStream), unless one succeeds since',
    { default: 30, min: 1, max: 3_600 },
  ),
  logLevel: field.oneOf('TP_LOG_LEVEL', 'pino log level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  tracing: field.oneOf('TP_TRACING', 'span export: none, console, or memory (tests)', ['none', 'console', 'memory'], {
    default: 'none',
  }),
} as const;

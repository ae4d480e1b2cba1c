/** Names shared by the permissions and the code that connects: inboxes, consumers, credentials. */

/**
 * The private inbox prefix of a NATS user: replies to its requests (and JetStream API answers)
 * arrive on `<prefix>.…`, which only that user may subscribe to. Connections pass it as the
 * nats.js `inboxPrefix` option.
 */
export function inboxPrefixFor(user: string): string {
  return `_INBOX_${user}`;
}

/**
 * True when `subject` lies in some user's private inbox (`_INBOX_<user>.<token>…`, see
 * {@link inboxPrefixFor}): only that user may subscribe there, so a reply sent to it reaches the
 * requester and nobody else. False for the shared `_INBOX.` of connections without a user, for
 * JetStream's `$JS.ACK.…` (a stream message delivered onto a request subject carries one), for
 * any other subject, for wildcards and for none.
 */
export function isPrivateInboxSubject(subject: string | undefined | null): boolean {
  return typeof subject === 'string' && PRIVATE_INBOX_SUBJECT.test(subject);
}

/** `_INBOX_<user>.` then one or more tokens; no wildcard, no empty token, no whitespace. */
const PRIVATE_INBOX_SUBJECT = /^_INBOX_[^.*>\s]+(\.[^.*>\s]+)+$/;

/** The durable JetStream consumer feeding a projection. */
export function projectionConsumerName(projection: string): string {
  return `proj_${consumerToken(projection)}`;
}

/** The consumer a rebuild of a projection reads the log with (one at a time per projection). */
export function rebuildConsumerName(projection: string): string {
  return `rebuild_${consumerToken(projection)}`;
}

function consumerToken(projection: string): string {
  return projection.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The environment variables holding a bus user's credentials in the local stack's settings:
 * `<prefix>_USER` and `<prefix>_PASSWORD`, e.g. `TP_NATS_REGISTRY_USER`. A service process is
 * given its own pair as `TP_NATS_USER` / `TP_NATS_PASSWORD`.
 */
export function credentialsEnvPrefix(name: string): string {
  return `TP_NATS_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** True for a variable that {@link credentialsEnvPrefix} names (not a setting of any service). */
export function isBusCredentialsEnv(variable: string): boolean {
  return /^TP_NATS_[A-Z0-9_]+_(USER|PASSWORD)$/.test(variable);
}

/**
 * The JetStream stream carrying audit records from every service to the audit chain, named after
 * the event stream: `TP_EVENTS` → `TP_AUDIT`, any other `<name>` → `<name>_AUDIT` (a test's own
 * stream gets its own audit stream); on a shared test server, where the stream is the wildcard
 * `*`, the wildcard again; in the generated document the placeholder `{audit_stream}`. Audit
 * records are not domain events and never enter the event log.
 */
export function auditStreamName(eventStream: string): string {
  if (eventStream === '*') return '*';
  if (eventStream === '{stream}') return '{audit_stream}';
  return eventStream.endsWith('_EVENTS') ? `${eventStream.slice(0, -'_EVENTS'.length)}_AUDIT` : `${eventStream}_AUDIT`;
}

/** The subject a service publishes the audit records of one organization on. */
export function auditSubject(prefix: string, service: string, organizationId: string): string {
  return `${prefix}.audit.${service}.${organizationId}`;
}

/** The durable consumer the audit chain reads the audit stream with. */
export const AUDIT_CHAIN_CONSUMER = 'audit_chain';

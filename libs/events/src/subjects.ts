/**
 * Subject catalogue (version 1). Every domain event is stored on
 * `<prefix>.evt.<tenant>.<aggregateType>.<aggregateId>`; the prefix is `tp` in production
 * and unique per test run so streams never overlap.
 */
export const SUBJECT_CATALOGUE_VERSION = 1;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Identifies one aggregate instance in the log. */
export interface AggregateRef {
  readonly tenant: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
}

/** Throws when `token` cannot be a single NATS subject token. */
export function assertSubjectToken(label: string, token: string): void {
  if (!TOKEN_PATTERN.test(token)) {
    throw new RangeError(`${label} "${token}" is not a valid subject token ([A-Za-z0-9_-]+)`);
  }
}

/** The subject holding one aggregate's events. */
export function aggregateSubject(prefix: string, ref: AggregateRef): string {
  assertSubjectToken('subject prefix', prefix);
  assertSubjectToken('tenant', ref.tenant);
  assertSubjectToken('aggregate type', ref.aggregateType);
  assertSubjectToken('aggregate id', ref.aggregateId);
  return `${prefix}.evt.${ref.tenant}.${ref.aggregateType}.${ref.aggregateId}`;
}

/** The wildcard covering every event (the stream's subject). */
export function allEventsSubject(prefix: string): string {
  assertSubjectToken('subject prefix', prefix);
  return `${prefix}.evt.>`;
}

/** Every event of one aggregate type across tenants (a single-subject filter, NATS 2.9 safe). */
export function aggregateTypeSubject(prefix: string, aggregateType: string): string {
  assertSubjectToken('subject prefix', prefix);
  assertSubjectToken('aggregate type', aggregateType);
  return `${prefix}.evt.*.${aggregateType}.*`;
}

/** Request/reply subject for internal commands of a service, e.g. `tp.cmd.signer.mint`. */
export function commandSubject(prefix: string, service: string, command: string): string {
  assertSubjectToken('subject prefix', prefix);
  assertSubjectToken('service', service);
  assertSubjectToken('command', command);
  return `${prefix}.cmd.${service}.${command}`;
}

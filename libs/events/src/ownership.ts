import { isDomainEventType, type DomainEnvelope, type DomainEventType } from './catalogue.js';

/**
 * Who writes what. Every event type belongs to one aggregate type and is emitted by one
 * service; a service may append to an aggregate type's subjects when it emits at least one of
 * its event types. The NATS permissions (libs/bus) are rendered from this map and projections
 * check every event they read against it, so adding an event type or a service means adding it
 * here (a missing event type does not compile).
 */

/** Services that append events to the log. */
export const OWNING_SERVICES = ['registry', 'signer', 'auth', 'federation'] as const;
/** A service that appends events. */
export type OwningService = (typeof OWNING_SERVICES)[number];

/** Aggregate types of the catalogue: the fourth token of an event subject. */
export const AGGREGATE_TYPES = [
  'organization',
  'trustdomain',
  'trustdomainname',
  'deployment',
  'cluster',
  'jointoken',
  'agent',
  'entry',
  'apitoken',
  'configsection',
  'ca',
  'bundle',
  'deploymentkey',
  'audit',
  'federation',
  'federatedbundle',
] as const;
/** One aggregate type. */
export type AggregateType = (typeof AGGREGATE_TYPES)[number];

/** Where one event type is stored and who emits it. */
export interface EventOwnership {
  readonly aggregateType: AggregateType;
  readonly emittedBy: OwningService;
}

const registry = (aggregateType: AggregateType): EventOwnership => ({
  aggregateType,
  emittedBy: 'registry',
});
const signer = (aggregateType: AggregateType): EventOwnership => ({
  aggregateType,
  emittedBy: 'signer',
});
const auth = (aggregateType: AggregateType): EventOwnership => ({
  aggregateType,
  emittedBy: 'auth',
});

/** The aggregate type and emitting service of every event type. */
export const EVENT_OWNERSHIP: { readonly [T in DomainEventType]: EventOwnership } = {
  'organization.created': registry('organization'),
  'organization.renamed': registry('organization'),
  'trustdomain.created': registry('trustdomain'),
  'trustdomain.status_changed': registry('trustdomain'),
  'trustdomain.described': registry('trustdomain'),
  'trustdomain.deleted': registry('trustdomain'),
  'trustdomainname.reserved': registry('trustdomainname'),
  'trustdomainname.released': registry('trustdomainname'),
  'deployment.created': registry('deployment'),
  'deployment.deleted': registry('deployment'),
  'cluster.created': registry('cluster'),
  'cluster.disabled': registry('cluster'),
  'cluster.deleted': registry('cluster'),
  'cluster.config_version_added': registry('cluster'),
  'cluster.key_registered': registry('cluster'),
  'jointoken.created': registry('jointoken'),
  // Spent by the signer's agent API when a node attests with the token.
  'jointoken.used': signer('jointoken'),
  'agent.attested': signer('agent'),
  'agent.renewed': signer('agent'),
  'agent.banned': registry('agent'),
  'entry.created': registry('entry'),
  'entry.updated': registry('entry'),
  'entry.deleted': registry('entry'),
  'apitoken.created': registry('apitoken'),
  'apitoken.revoked': registry('apitoken'),
  'configsection.set': registry('configsection'),
  'ca.keyset_prepared': signer('ca'),
  'ca.keyset_activated': signer('ca'),
  'ca.keyset_tainted': signer('ca'),
  'ca.keyset_revoked': signer('ca'),
  'ca.keyset_dropped': signer('ca'),
  'bundle.updated': signer('bundle'),
  'deploymentkey.created': auth('deploymentkey'),
  'deploymentkey.enabled': auth('deploymentkey'),
  'deploymentkey.disabled': auth('deploymentkey'),
  'deploymentkey.deleted': auth('deploymentkey'),
  'audit.anchored': auth('audit'),
  // Appended by the registry's sync routes from a self-hosted signer's report.
  'deployment.reported': registry('deployment'),
  'deployment.configured': registry('deployment'),
  'federation.created': registry('federation'),
  'federation.refresh_requested': registry('federation'),
  'federation.deleted': registry('federation'),
  'federatedbundle.updated': { aggregateType: 'federatedbundle', emittedBy: 'federation' },
};

const ALL_EVENT_TYPES = Object.keys(EVENT_OWNERSHIP) as DomainEventType[];

/** True when `value` is an aggregate type of the catalogue. */
export function isAggregateType(value: string): value is AggregateType {
  return (AGGREGATE_TYPES as readonly string[]).includes(value);
}

/** The event types stored on an aggregate type's subjects. */
export function eventTypesOf(aggregateType: AggregateType): readonly DomainEventType[] {
  return ALL_EVENT_TYPES.filter((type) => EVENT_OWNERSHIP[type].aggregateType === aggregateType);
}

/** The services that append to an aggregate type (two for aggregates the signer also updates). */
export function ownersOf(aggregateType: AggregateType): readonly OwningService[] {
  return OWNING_SERVICES.filter((service) =>
    eventTypesOf(aggregateType).some((type) => EVENT_OWNERSHIP[type].emittedBy === service),
  );
}

/** The aggregate types a service appends to: the event subjects it may publish. */
export function aggregatesWrittenBy(service: OwningService): readonly AggregateType[] {
  return AGGREGATE_TYPES.filter((aggregateType) => ownersOf(aggregateType).includes(service));
}

/** Why a stored event is refused by its readers. */
export type EventProvenanceProblemCode =
  | 'SUBJECT_MALFORMED'
  | 'SUBJECT_TENANT_MISMATCH'
  | 'SUBJECT_AGGREGATE_MISMATCH'
  | 'AGGREGATE_TYPE_UNKNOWN'
  | 'EVENT_TYPE_NOT_OF_AGGREGATE';

/** A refused event: a stable code and a sentence naming both sides. */
export interface EventProvenanceProblem {
  readonly code: EventProvenanceProblemCode;
  readonly message: string;
}

/**
 * Checks that a stored event is where its writer was allowed to put it: its subject
 * `<prefix>.evt.<tenant>.<aggregateType>.<aggregateId>` names the envelope's tenant, aggregate
 * type and id, and its type is one of that aggregate type's events. NATS permissions are per
 * aggregate type, not per tenant or event type, so a reader must not trust the envelope alone.
 * Returns undefined when the event is consistent.
 */
export function checkEventProvenance(
  prefix: string,
  subject: string,
  event: Pick<DomainEnvelope, 'type' | 'tenant' | 'aggregateType' | 'aggregateId'>,
): EventProvenanceProblem | undefined {
  const tokens = subject.split('.');
  if (tokens.length !== 5 || tokens[0] !== prefix || tokens[1] !== 'evt') {
    return {
      code: 'SUBJECT_MALFORMED',
      message: `subject ${subject} is not ${prefix}.evt.<tenant>.<aggregateType>.<aggregateId>`,
    };
  }
  const [, , tenant, aggregateType, aggregateId] = tokens as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (event.tenant !== tenant) {
    return {
      code: 'SUBJECT_TENANT_MISMATCH',
      message: `event names tenant ${event.tenant} but was stored on ${subject}`,
    };
  }
  if (event.aggregateType !== aggregateType || event.aggregateId !== aggregateId) {
    return {
      code: 'SUBJECT_AGGREGATE_MISMATCH',
      message: `event names ${event.aggregateType}/${event.aggregateId} but was stored on ${subject}`,
    };
  }
  if (!isAggregateType(aggregateType)) {
    return {
      code: 'AGGREGATE_TYPE_UNKNOWN',
      message: `aggregate type ${aggregateType} has no owning service`,
    };
  }
  if (
    !isDomainEventType(event.type) ||
    EVENT_OWNERSHIP[event.type].aggregateType !== aggregateType
  ) {
    return {
      code: 'EVENT_TYPE_NOT_OF_AGGREGATE',
      message: `${event.type} is not an event of aggregate type ${aggregateType} (emitted by ${ownersOf(aggregateType).join(', ')})`,
    };
  }
  return undefined;
}

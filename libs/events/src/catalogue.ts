import type { EnvelopeOf, EventDraft } from './envelope.js';
import type { OrganizationEvent } from './organization.js';
import type { RegistryEvent } from './registry.js';
import type { BundleEvent, CaEvent } from './ca.js';
import type { AuthEvent } from './auth.js';
import type { FederationEvent } from './federation.js';
import type { FederatedBundleEvent } from './federated-bundle.js';

/**
 * The catalogue: the union of every context's events. Adding a context means adding its
 * union here; a type not listed does not compile anywhere an event is expected.
 */
export type DomainEvent = OrganizationEvent | RegistryEvent | CaEvent | BundleEvent | AuthEvent | FederationEvent | FederatedBundleEvent;

/** Any event type name in the catalogue. */
export type DomainEventType = DomainEvent['type'];

/** A drafted (not yet enveloped) event of the catalogue. */
export type DomainEventDraft = EventDraft<DomainEvent>;

/** A stored envelope of any catalogued event at its current schema version. */
export type DomainEnvelope = EnvelopeOf<DomainEvent>;

/** The envelope of one event type. */
export type EnvelopeOfType<T extends DomainEventType> = Extract<DomainEnvelope, { type: T }>;

/** The current schema version of each event type; typed so a missing type fails to compile. */
export const CURRENT_SCHEMA_VERSIONS: { readonly [T in DomainEventType]: Extract<DomainEvent, { type: T }>['schemaVersion'] } = {
  'organization.created': 1,
  'organization.renamed': 2,
  'trustdomain.created': 1,
  'trustdomain.status_changed': 1,
  'trustdomain.described': 1,
  'trustdomain.deleted': 1,
  'trustdomainname.reserved': 1,
  'trustdomainname.released': 1,
  'deployment.created': 1,
  'deployment.deleted': 1,
  'cluster.created': 1,
  'cluster.disabled': 1,
  'cluster.deleted': 1,
  'cluster.config_version_added': 1,
  'cluster.key_registered': 1,
  'jointoken.created': 1,
  'jointoken.used': 1,
  'agent.attested': 1,
  'agent.renewed': 1,
  'agent.banned': 1,
  'entry.created': 1,
  'entry.updated': 1,
  'entry.deleted': 1,
  'apitoken.created': 1,
  'apitoken.revoked': 1,
  'configsection.set': 1,
  'ca.keyset_prepared': 1,
  'ca.keyset_activated': 1,
  'ca.keyset_tainted': 1,
  'ca.keyset_revoked': 1,
  'ca.keyset_dropped': 1,
  'bundle.updated': 1,
  'deploymentkey.created': 1,
  'deploymentkey.enabled': 1,
  'deploymentkey.disabled': 1,
  'deploymentkey.deleted': 1,
  'audit.anchored': 1,
  'deployment.reported': 1,
  'deployment.configured': 1,
  'federation.created': 1,
  'federation.refresh_requested': 1,
  'federation.deleted': 1,
  'federatedbundle.updated': 1,
};

/** True when `type` names an event in the catalogue. */
export function isDomainEventType(type: string): type is DomainEventType {
  return Object.prototype.hasOwnProperty.call(CURRENT_SCHEMA_VERSIONS, type);
}

export { uuidv7, isUuidv7 } from './uuidv7.js';
export type {
  Actor,
  EventEnvelope,
  EventDefinition,
  EventDraft,
  EnvelopeOf,
  EventMetadata,
} from './envelope.js';
export { toEnvelope } from './envelope.js';
export type { OrganizationCreated, OrganizationRenamed, OrganizationEvent } from './organization.js';
export type {
  DomainEvent,
  DomainEventType,
  DomainEventDraft,
  DomainEnvelope,
  EnvelopeOfType,
} from './catalogue.js';
export { CURRENT_SCHEMA_VERSIONS, isDomainEventType } from './catalogue.js';
export { upcast, decodeEvent, decodeEvents, encodeEvent, encodeEvents, EventDecodeError } from './upcast.js';
export type { EventDecodeErrorCode } from './upcast.js';
export type { AggregateRef } from './subjects.js';
export {
  SUBJECT_CATALOGUE_VERSION,
  aggregateSubject,
  allEventsSubject,
  aggregateTypeSubject,
  commandSubject,
  assertSubjectToken,
} from './subjects.js';
export {
  DOMAIN_ERROR_HTTP_STATUS,
  DomainError,
  accept,
  reject,
  assertNever,
  type DomainErrorKind,
} from './decider.js';
export type { Decision, Decider, DecisionContext } from './decider.js';
export type * from './registry.js';
export type * from './ca.js';
export type * from './auth.js';
export type * from './federation.js';
export type * from './federated-bundle.js';
export {
  AGGREGATE_TYPES,
  EVENT_OWNERSHIP,
  OWNING_SERVICES,
  aggregatesWrittenBy,
  checkEventProvenance,
  eventTypesOf,
  isAggregateType,
  ownersOf,
  type AggregateType,
  type EventOwnership,
  type EventProvenanceProblem,
  type EventProvenanceProblemCode,
  type OwningService,
} from './ownership.js';

/** Who caused an event: an operator token, a service, an agent, or the system itself. */
export interface Actor {
  /** What kind of principal acted. */
  readonly kind: 'token' | 'service' | 'agent' | 'system' | 'bootstrap';
  /** The principal's id (token id, service name, agent id). */
  readonly id: string;
}

/**
 * One stored domain event. `Type`, `Version` and `Data` come from the per-context
 * catalogue; everything else is metadata added when the command is handled.
 */
export interface EventEnvelope<
  Type extends string = string,
  Version extends number = number,
  Data = unknown,
> {
  /** UUIDv7; also the JetStream `Nats-Msg-Id`, so a re-sent append is stored once. */
  readonly id: string;
  /** Past-tense event name, e.g. `organization.created`. */
  readonly type: Type;
  /** Schema version of `data`; old versions are upcast on read, never edited. */
  readonly schemaVersion: Version;
  /** Organization the event belongs to (`t-…`). */
  readonly tenant: string;
  /** Aggregate type, e.g. `organization`. */
  readonly aggregateType: string;
  /** Aggregate instance id. */
  readonly aggregateId: string;
  /** ISO-8601 instant the command was decided (from the injected clock). */
  readonly occurredAt: string;
  /** Principal that issued the command. */
  readonly actor: Actor;
  /** Id of the message (event or request) that caused this event. */
  readonly causationId: string;
  /** Id shared by everything that follows from one request. */
  readonly correlationId: string;
  /** W3C trace context of the request that produced the event, when traced. */
  readonly traceparent?: string;
  /** The event's payload. */
  readonly data: Data;
}

/** Declares one event type of a context's catalogue. */
export type EventDefinition<Type extends string, Version extends number, Data> = {
  readonly type: Type;
  readonly schemaVersion: Version;
  readonly data: Data;
};

/** An event as decided by an aggregate, before metadata is attached. */
export type EventDraft<E extends EventDefinition<string, number, unknown>> = E extends unknown
  ? { readonly type: E['type']; readonly schemaVersion: E['schemaVersion']; readonly data: E['data'] }
  : never;

/** The stored envelope of any event in the union `E`. */
export type EnvelopeOf<E extends EventDefinition<string, number, unknown>> = E extends unknown
  ? EventEnvelope<E['type'], E['schemaVersion'], E['data']>
  : never;

/** Metadata the command handler adds to every drafted event. */
export interface EventMetadata {
  readonly tenant: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly causationId: string;
  readonly correlationId: string;
  readonly traceparent?: string;
}

/** Wraps a drafted event into its envelope with a fresh id. */
export function toEnvelope<E extends EventDefinition<string, number, unknown>>(
  draft: EventDraft<E>,
  meta: EventMetadata,
  id: string,
): EnvelopeOf<E> {
  const envelope: EventEnvelope = {
    id,
    type: draft.type,
    schemaVersion: draft.schemaVersion,
    tenant: meta.tenant,
    aggregateType: meta.aggregateType,
    aggregateId: meta.aggregateId,
    occurredAt: meta.occurredAt,
    actor: meta.actor,
    causationId: meta.causationId,
    correlationId: meta.correlationId,
    ...(meta.traceparent === undefined ? {} : { traceparent: meta.traceparent }),
    data: draft.data,
  };
  return envelope as EnvelopeOf<E>;
}

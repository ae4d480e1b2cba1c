import { CURRENT_SCHEMA_VERSIONS, isDomainEventType, type DomainEnvelope } from './catalogue.js';
import type { EventEnvelope } from './envelope.js';
import type { OrganizationRenamedV1Data } from './organization.js';

/** Why a stored event could not be read. */
export type EventDecodeErrorCode =
  | 'EVENT_MALFORMED'
  | 'EVENT_TYPE_UNKNOWN'
  | 'EVENT_VERSION_UNKNOWN';

/** A stored event that this build cannot interpret. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    readonly code: EventDecodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Lifts `data` of one event type from version `n` to `n + 1`. */
type Upcaster = (data: unknown) => unknown;

/** Upcasters keyed by `<type>@<fromVersion>`. Stored events are never rewritten. */
const UPCASTERS: Readonly<Record<string, Upcaster>> = {
  'organization.renamed@1': (data) => {
    const v1 = data as OrganizationRenamedV1Data;
    return { name: v1.newName, previousName: null };
  },
};

/**
 * Reads a stored envelope (any version) and returns it at the current schema version.
 * Throws EventDecodeError for unknown types or versions.
 */
export function upcast(stored: EventEnvelope<string, number, unknown>): DomainEnvelope {
  if (!isDomainEventType(stored.type)) {
    throw new EventDecodeError('EVENT_TYPE_UNKNOWN', `unknown event type "${stored.type}"`);
  }
  const target: number = CURRENT_SCHEMA_VERSIONS[stored.type];
  let version = stored.schemaVersion;
  let data = stored.data;
  while (version < target) {
    const step = UPCASTERS[`${stored.type}@${version}`];
    if (step === undefined) {
      throw new EventDecodeError(
        'EVENT_VERSION_UNKNOWN',
        `no upcaster for ${stored.type} version ${version}`,
      );
    }
    data = step(data);
    version += 1;
  }
  if (version !== target) {
    throw new EventDecodeError(
      'EVENT_VERSION_UNKNOWN',
      `${stored.type} version ${stored.schemaVersion} is newer than this build (${target})`,
    );
  }
  return { ...stored, schemaVersion: target, data } as DomainEnvelope;
}

const ENVELOPE_STRING_FIELDS = [
  'id',
  'type',
  'tenant',
  'aggregateType',
  'aggregateId',
  'occurredAt',
  'causationId',
  'correlationId',
] as const;

/** Parses the JSON bytes of a stored event (one envelope, not a batch) and upcasts it. */
export function decodeEvent(bytes: Uint8Array): DomainEnvelope {
  const parsed = parseStored(bytes);
  if (Array.isArray(parsed)) {
    throw new EventDecodeError('EVENT_MALFORMED', 'stored message is a batch of events; read it with decodeEvents');
  }
  return decodeParsed(parsed);
}

/**
 * Parses one stored message into its events, upcast, in order. A message holds the events of one
 * decision: a single envelope (a JSON object), or, when the decision emitted several, all of them
 * as a JSON array, so that they are stored (and read) together or not at all. Throws
 * EventDecodeError when any of them is unreadable: a batch is never read in part.
 */
export function decodeEvents(bytes: Uint8Array): DomainEnvelope[] {
  const parsed = parseStored(bytes);
  if (!Array.isArray(parsed)) return [decodeParsed(parsed)];
  if (parsed.length === 0) throw new EventDecodeError('EVENT_MALFORMED', 'stored batch holds no event');
  const events = parsed.map((element: unknown) => decodeParsed(element));
  const first = events[0] as DomainEnvelope;
  for (const event of events) {
    if (event.tenant !== first.tenant || event.aggregateType !== first.aggregateType || event.aggregateId !== first.aggregateId) {
      throw new EventDecodeError('EVENT_MALFORMED', `stored batch mixes aggregates (${first.aggregateType}/${first.aggregateId} and ${event.aggregateType}/${event.aggregateId})`);
    }
  }
  return events;
}

function parseStored(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new EventDecodeError('EVENT_MALFORMED', 'stored event is not JSON', { cause });
  }
}

function decodeParsed(parsed: unknown): DomainEnvelope {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EventDecodeError('EVENT_MALFORMED', 'stored event is not an object');
  }
  const record = parsed as Record<string, unknown>;
  for (const field of ENVELOPE_STRING_FIELDS) {
    if (typeof record[field] !== 'string') {
      throw new EventDecodeError('EVENT_MALFORMED', `stored event lacks string field "${field}"`);
    }
  }
  if (typeof record['schemaVersion'] !== 'number' || typeof record['actor'] !== 'object') {
    throw new EventDecodeError('EVENT_MALFORMED', 'stored event lacks schemaVersion or actor');
  }
  return upcast(record as unknown as EventEnvelope<string, number, unknown>);
}

/** Serializes an envelope for storage. */
export function encodeEvent(envelope: EventEnvelope): Uint8Array {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/**
 * Serializes the events of one decision as one stored message: the envelope itself when there is
 * one, a JSON array of them when there are several (see {@link decodeEvents}).
 */
export function encodeEvents(envelopes: readonly EventEnvelope[]): Uint8Array {
  if (envelopes.length === 0) throw new RangeError('nothing to encode');
  return Buffer.from(JSON.stringify(envelopes.length === 1 ? envelopes[0] : envelopes), 'utf8');
}

import type { JsMsg } from '@nats-io/jetstream';
import {
  checkEventProvenance,
  decodeEvents,
  EventDecodeError,
  type DomainEnvelope,
  type EventProvenanceProblemCode,
} from '@trustplane/events';
import type { PoolClient } from 'pg';
import type { Projection } from './projection.js';
import { isTransientDatabaseError } from './sql.js';

/**
 * One stored message a projection must apply, or dead-letter when it cannot: the events of one
 * decision (usually one), applied together or not at all.
 */
export interface Candidate {
  readonly sequence: number;
  /** The raw stored bytes (kept for the dead-letter row). */
  readonly payload: Uint8Array;
  /** The message's events (empty when it could not be decoded). */
  readonly events: readonly DomainEnvelope[];
  error: unknown;
}

/**
 * A stored event its readers refuse (defence in depth behind the NATS permissions): its subject
 * does not name its envelope's tenant and aggregate, or its type is not an event of that
 * aggregate type. It is dead-lettered, never applied.
 */
export class EventRefusedError extends Error {
  override readonly name = 'EventRefusedError';
  constructor(
    readonly code: EventProvenanceProblemCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why an event was refused as forged or unknown (a refusal counted and alerted on, not a
 * projection bug), or undefined for any other failure.
 */
export function refusalReason(error: unknown): string | undefined {
  if (error instanceof EventRefusedError) return error.code;
  if (error instanceof EventDecodeError && error.code === 'EVENT_TYPE_UNKNOWN') return error.code;
  return undefined;
}

/**
 * Decodes a stored message into a candidate, upcasting each of its events. A message with an
 * undecodable event, or with one stored where its envelope says it does not belong, carries its
 * error and will be dead-lettered whole.
 */
export function toCandidate(message: Pick<JsMsg, 'seq' | 'data' | 'subject'>, subjectPrefix: string): Candidate {
  let events: DomainEnvelope[];
  try {
    events = decodeEvents(message.data);
  } catch (error) {
    return { sequence: message.seq, payload: message.data, events: [], error };
  }
  for (const event of events) {
    const problem = checkEventProvenance(subjectPrefix, message.subject, event);
    if (problem !== undefined) {
      return { sequence: message.seq, payload: message.data, events, error: new EventRefusedError(problem.code, problem.message) };
    }
  }
  return { sequence: message.seq, payload: message.data, events, error: undefined };
}

/** The events of candidates in log order, each with its message's sequence. */
function positioned(candidates: readonly Candidate[]): { event: DomainEnvelope; sequence: number }[] {
  return candidates.flatMap((c) => c.events.map((event) => ({ event, sequence: c.sequence })));
}

/** Reports dead-lettered events. */
export type DeadLetterListener = (sequence: number, error: unknown) => void;

/**
 * Applies candidates inside the caller's transaction. Fast path: one `applyBatch` call.
 * If that fails for a non-transient reason, it is rolled back to a savepoint and the events
 * are applied one by one, each poison event going to `projection_dead_letters`. Transient
 * database errors propagate so the caller retries the whole batch later.
 */
export async function applyCandidates(
  client: PoolClient,
  projection: Projection,
  candidates: readonly Candidate[],
  onDeadLetter?: DeadLetterListener,
): Promise<void> {
  if (candidates.length === 0) return;
  if (candidates.every((c) => c.error === undefined)) {
    await client.query('SAVEPOINT batch');
    try {
      await projection.applyBatch(client, positioned(candidates));
      await client.query('RELEASE SAVEPOINT batch');
      return;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT batch');
    }
  }
  for (const candidate of candidates) await applyOne(client, projection, candidate, onDeadLetter);
}

async function applyOne(
  client: PoolClient,
  projection: Projection,
  candidate: Candidate,
  onDeadLetter?: DeadLetterListener,
): Promise<void> {
  if (candidate.events.length > 0 && candidate.error === undefined) {
    await client.query('SAVEPOINT one');
    try {
      // All the message's events or none: a failure on any of them rolls back the others.
      await projection.applyBatch(client, positioned([candidate]));
      await client.query('RELEASE SAVEPOINT one');
      return;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT one');
      candidate.error = error;
    }
  }
  await client.query(
    `INSERT INTO projection_dead_letters (projection, stream_seq, event_id, event_type, error, payload)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, stream_seq) DO NOTHING`,
    [
      projection.name,
      candidate.sequence,
      candidate.events[0]?.id ?? null,
      candidate.events.length === 0 ? null : candidate.events.map((e) => e.type).join(','),
      describeError(candidate.error),
      Buffer.from(candidate.payload).toString('utf8'),
    ],
  );
  onDeadLetter?.(candidate.sequence, candidate.error);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The aggregate type token of an event subject `<prefix>.evt.<tenant>.<type>.<id>`. */
export function aggregateTypeOfSubject(subject: string, prefix: string): string {
  const tokens = subject.split('.');
  return tokens[0] === prefix ? (tokens[3] ?? '') : '';
}

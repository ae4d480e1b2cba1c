import type { JsMsg } from '@nats-io/jetstream';
import {
  checkEventProvenance,
  decodeEvent,
  EventDecodeError,
  type DomainEnvelope,
  type EventProvenanceProblemCode,
} from '@trustplane/events';
import type { PoolClient } from 'pg';
import type { Projection } from './projection.js';
import { isTransientDatabaseError } from './sql.js';

/** An event a projection must apply, or dead-letter when it cannot. */
export interface Candidate {
  readonly sequence: number;
  /** The raw stored bytes (kept for the dead-letter row). */
  readonly payload: Uint8Array;
  readonly event: DomainEnvelope | undefined;
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
 * Decodes a stored message into a candidate. An undecodable event, or one stored where its
 * envelope says it does not belong, carries its error and will be dead-lettered.
 */
export function toCandidate(message: Pick<JsMsg, 'seq' | 'data' | 'subject'>, subjectPrefix: string): Candidate {
  let event: DomainEnvelope;
  try {
    event = decodeEvent(message.data);
  } catch (error) {
    return { sequence: message.seq, payload: message.data, event: undefined, error };
  }
  const problem = checkEventProvenance(subjectPrefix, message.subject, event);
  const error = problem === undefined ? undefined : new EventRefusedError(problem.code, problem.message);
  return { sequence: message.seq, payload: message.data, event, error };
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
      await projection.applyBatch(
        client,
        candidates.map((c) => ({ event: c.event as DomainEnvelope, sequence: c.sequence })),
      );
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
  if (candidate.event !== undefined && candidate.error === undefined) {
    await client.query('SAVEPOINT one');
    try {
      await projection.applyBatch(client, [{ event: candidate.event, sequence: candidate.sequence }]);
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
      candidate.event?.id ?? null,
      candidate.event?.type ?? null,
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

import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Span,
} from '@opentelemetry/api';
import { projectionConsumerName } from '@trustplane/bus';
import { allEventsSubject, type DomainEnvelope } from '@trustplane/events';
import { aggregateTypeOfSubject, applyCandidates, toCandidate, type Candidate } from './apply.js';
import type { Pool, PoolClient } from 'pg';
import type { Projection } from './projection.js';
import { EventStoreError } from './errors.js';
import { inTransaction, quoteIdent } from './sql.js';
import type { EventStreamSettings } from './stream.js';

/** Receives what the runner does, for logs and metrics. */
export interface ProjectionObserver {
  /** A batch was committed up to `checkpoint`; `applied` events reached the projection. */
  batchCommitted?(projection: string, applied: number, checkpoint: number, lagMs: number): void;
  /**
   * An event could not be applied and was parked in the dead-letter table; `refusalReason` of
   * the error tells a refused (forged, misrouted or unknown) event from a failing one.
   */
  deadLettered?(projection: string, sequence: number, error: unknown): void;
  /** A batch failed for a transient reason and will be retried. */
  batchFailed?(projection: string, error: unknown): void;
}

/** How a projection runner is wired. */
export interface ProjectionRunnerOptions {
  readonly nc: NatsConnection;
  readonly pool: Pool;
  readonly stream: EventStreamSettings;
  /** Postgres schema holding the projection's tables and the bookkeeping tables. */
  readonly schema: string;
  readonly projection: Projection;
  readonly observer?: ProjectionObserver;
  /** Largest number of events applied in one transaction. */
  readonly maxBatch?: number;
  /** How long JetStream waits for an ack before redelivering. */
  readonly ackWaitMs?: number;
  /** Test hook: runs after the commit and before the acks (used to simulate a crash there). */
  readonly afterCommit?: (checkpoint: number) => void | Promise<void>;
}

/** The durable consumer name used for a projection (the bus permissions name it too). */
export const consumerNameFor = projectionConsumerName;

const TRACER_NAME = '@trustplane/eventstore';

/**
 * Feeds one projection from a durable pull consumer over the whole stream. Each batch is
 * applied and its checkpoint stored in one Postgres transaction, and acked only after the
 * commit, so a redelivered or replayed event is never applied twice. Stream sequences are
 * contiguous (the stream denies deletes), which lets the runner detect and refuse gaps.
 */
export class ProjectionRunner {
  private messages: ConsumerMessages | undefined;
  private queue: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private consumeLoop: Promise<void> | undefined;
  private checkpoint = 0;
  /** Callers of {@link waitFor} for a sequence not yet committed. */
  private readonly waiters = new Set<CheckpointWaiter>();
  private readonly maxBatch: number;
  private readonly consumerName: string;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.maxBatch = options.maxBatch ?? 500;
    this.consumerName = consumerNameFor(options.projection.name);
  }

  /** The last stream sequence committed to the projection. */
  get position(): number {
    return this.checkpoint;
  }

  /** Starts consuming. Resolves once the consumer is attached. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.checkpoint = await this.readCheckpoint();
    this.advanceCheckpoint(this.checkpoint);
    await this.attachConsumer().catch((error: unknown) => {
      this.running = false;
      if (!(error instanceof Error && /permissions violation/i.test(error.message))) throw error;
      throw new EventStoreError(
        'PROJECTION_FAILED',
        `this NATS user may not use consumer ${this.consumerName}: add projection ${this.options.projection.name} to the service's entry in libs/bus/src/users.ts (then node tools/gen-nats-permissions.mjs)`,
        { cause: error },
      );
    });
    this.loop = this.processLoop();
  }

  /** Stops taking new messages, finishes the batch in hand, and detaches. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.messages?.close().catch(() => undefined);
    this.wake?.();
    await this.consumeLoop;
    await this.loop;
    for (const message of this.queue) message.nak();
    this.queue = [];
  }

  /** The projection's name (its checkpoint key). */
  get name(): string {
    return this.options.projection.name;
  }

  /** Resolves when the projection has committed at least `sequence` (or rejects on timeout). */
  waitFor(sequence: number, timeoutMs = 10_000): Promise<void> {
    if (this.checkpoint >= sequence) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: CheckpointWaiter = {
        sequence,
        release: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(
        () => {
          this.waiters.delete(waiter);
          reject(
            new Error(
              `${this.options.projection.name} did not reach ${sequence} (at ${this.checkpoint})`,
            ),
          );
        },
        // setTimeout fires at once for delays above 2^31 - 1 ms (or Infinity): cap instead.
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
      this.waiters.add(waiter);
    });
  }

  /** Records a committed checkpoint and releases the waiters it satisfies. */
  private advanceCheckpoint(committed: number): void {
    this.checkpoint = Math.max(this.checkpoint, committed);
    for (const waiter of this.waiters) {
      if (waiter.sequence > this.checkpoint) continue;
      this.waiters.delete(waiter);
      waiter.release();
    }
  }

  private async readCheckpoint(): Promise<number> {
    const { pool, schema, projection } = this.options;
    const result = await pool.query<{ stream_seq: string }>(
      `INSERT INTO ${quoteIdent(schema)}.projection_checkpoints (projection, stream_seq) VALUES ($1, 0)
       ON CONFLICT (projection) DO UPDATE SET projection = EXCLUDED.projection
       RETURNING stream_seq`,
      [projection.name],
    );
    return Number(result.rows[0]?.stream_seq ?? 0);
  }

  /**
   * Ensures the durable consumer exists and is not ahead of the checkpoint (it would be,
   * for example, after the projection's tables were reset): such a consumer is recreated
   * to start right after the checkpoint.
   */
  private async attachConsumer(): Promise<void> {
    const { nc, stream } = this.options;
    const jsm = await jetstreamManager(nc);
    const existing = await jsm.consumers
      .info(stream.streamName, this.consumerName)
      .catch(() => undefined);
    if (existing !== undefined && existing.ack_floor.stream_seq > this.checkpoint) {
      await jsm.consumers.delete(stream.streamName, this.consumerName);
    }
    if (existing === undefined || existing.ack_floor.stream_seq > this.checkpoint) {
      await jsm.consumers.add(stream.streamName, {
        durable_name: this.consumerName,
        ack_policy: AckPolicy.Explicit,
        ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
        max_ack_pending: 20_000,
        filter_subject: allEventsSubject(stream.subjectPrefix),
        ...(this.checkpoint === 0
          ? { deliver_policy: DeliverPolicy.All }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.checkpoint + 1 }),
      });
    }
    const consumer = await jetstream(nc).consumers.get(stream.streamName, this.consumerName);
    this.messages = await consumer.consume({ max_messages: Math.max(this.maxBatch * 2, 256) });
    const messages = this.messages;
    this.consumeLoop = (async () => {
      for await (const message of messages) {
        this.queue.push(message);
        this.wake?.();
      }
    })();
  }

  private async processLoop(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (this.queue.length === 0) {
        if (!this.running) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.processBatch(batch);
      } catch (error) {
        this.options.observer?.batchFailed?.(this.options.projection.name, error);
        for (const message of batch) message.nak(1_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private async processBatch(batch: readonly JsMsg[]): Promise<void> {
    const { pool, schema, projection } = this.options;
    const client = await pool.connect();
    // A session that ends mid-batch emits 'error' on the checked-out client (unheard, it would
    // end the process); such a client is handed back as broken, so the pool replaces it.
    let broken: Error | undefined;
    const onError = (error: Error): void => void (broken = error);
    client.on('error', onError);
    let committed: number;
    let applied: Candidate[];
    let gap: JsMsg[];
    try {
      const outcome = await inTransaction(client, schema, async () => {
        const start = await lockCheckpoint(client, projection.name);
        const plan = planBatch(
          batch,
          start,
          this.options.stream.subjectPrefix,
          projection.aggregateTypes,
        );
        const spans = plan.candidates.flatMap((c) =>
          c.event ? [startApplySpan(projection.name, c.event)] : [],
        );
        try {
          await applyCandidates(client, projection, plan.candidates, (sequence, error) =>
            this.options.observer?.deadLettered?.(projection.name, sequence, error),
          );
        } finally {
          for (const span of spans) span.end();
        }
        const last = plan.lastContiguous;
        if (last > start) {
          await client.query(
            `UPDATE projection_checkpoints SET stream_seq = $2 WHERE projection = $1`,
            [projection.name, last],
          );
        }
        return { last, plan };
      });
      committed = outcome.last;
      applied = outcome.plan.candidates;
      gap = outcome.plan.gap;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
    this.advanceCheckpoint(committed);
    await this.options.afterCommit?.(committed);
    for (const message of batch) {
      if (gap.includes(message)) message.nak(200);
      else message.ack();
    }
    const newest = applied.at(-1)?.event;
    const lagMs = newest === undefined ? 0 : Date.now() - Date.parse(newest.occurredAt);
    this.options.observer?.batchCommitted?.(projection.name, applied.length, committed, lagMs);
  }
}

/** The longest delay setTimeout honours (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A caller of `waitFor`: released once the checkpoint reaches `sequence`. */
interface CheckpointWaiter {
  readonly sequence: number;
  release(): void;
}

/** What to do with each message of a batch, given the committed checkpoint. */
interface BatchPlan {
  readonly candidates: Candidate[];
  /** Last sequence of the contiguous run after the checkpoint. */
  readonly lastContiguous: number;
  /** Messages beyond a gap: not applied, redelivered later. */
  readonly gap: JsMsg[];
}

/**
 * Splits a batch: sequences ≤ checkpoint are duplicates (ack only), the contiguous run after
 * it is applied, anything after a missing sequence waits. Events of other aggregate types
 * only advance the checkpoint.
 */
export function planBatch(
  batch: readonly JsMsg[],
  checkpoint: number,
  subjectPrefix: string,
  aggregateTypes: readonly string[],
): BatchPlan {
  const candidates: Candidate[] = [];
  const gap: JsMsg[] = [];
  const ordered = [...batch].sort((a, b) => a.seq - b.seq);
  let expected = checkpoint + 1;
  for (const message of ordered) {
    if (message.seq < expected) continue;
    if (message.seq > expected) {
      gap.push(message);
      continue;
    }
    expected += 1;
    if (!aggregateTypes.includes(aggregateTypeOfSubject(message.subject, subjectPrefix))) continue;
    candidates.push(toCandidate(message, subjectPrefix));
  }
  return { candidates, lastContiguous: expected - 1, gap };
}

async function lockCheckpoint(client: PoolClient, projection: string): Promise<number> {
  const result = await client.query<{ stream_seq: string }>(
    `SELECT stream_seq FROM projection_checkpoints WHERE projection = $1 FOR UPDATE`,
    [projection],
  );
  return Number(result.rows[0]?.stream_seq ?? 0);
}

function startApplySpan(projection: string, event: DomainEnvelope): Span {
  const parent =
    event.traceparent === undefined
      ? ROOT_CONTEXT
      : propagation.extract(ROOT_CONTEXT, { traceparent: event.traceparent });
  return trace.getTracer(TRACER_NAME).startSpan(
    `projection ${projection} apply ${event.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'trustplane.event.id': event.id,
        'trustplane.event.type': event.type,
        'trustplane.projection': projection,
      },
    },
    parent ?? otelContext.active(),
  );
}

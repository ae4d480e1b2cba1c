import {
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
import { randomUUID } from 'node:crypto';
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
  /**
   * Sequence `missing` did not arrive although later ones did (the log should never have holes:
   * the stream denies deletes). The runner does not skip it: it re-reads from its checkpoint.
   */
  gapDetected?(projection: string, missing: number, received: number): void;
}

/** How far a projection is behind the log. */
export interface ProjectionLag {
  /** Stream sequences stored but not applied yet (as last observed). */
  readonly sequences: number;
  /**
   * For how long the projection has been behind: the age of the oldest observation of a stream
   * sequence it has not applied yet (0 when caught up).
   */
  readonly seconds: number;
  /** The committed checkpoint. */
  readonly checkpoint: number;
  /** The newest stream sequence observed. */
  readonly streamLast: number;
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
  /** Pause before a failed batch is tried again (doubles up to 5 s while it keeps failing). */
  readonly retryDelayMs?: number;
  /** Test hook: runs right after a batch is committed (used to simulate a crash there). */
  readonly afterCommit?: (checkpoint: number) => void | Promise<void>;
}

/**
 * The durable consumer name that older versions fed a projection from; the runner removes such a
 * consumer at start (the bus permissions name it too). Its own consumers are named after it.
 */
export const consumerNameFor = projectionConsumerName;

const TRACER_NAME = '@trustplane/eventstore';

/** How long JetStream keeps the consumer of a runner that vanished (SIGKILL) before removing it. */
const ABANDONED_CONSUMER_MS = 60_000;
/** Longest pause between retries of a failing batch. */
const MAX_RETRY_DELAY_MS = 5_000;
/**
 * A consumer that delivered nothing for this long while the stream holds messages the runner has
 * not received is re-created from the checkpoint (the server lost it, e.g. in a restart, and the
 * client did not notice).
 */
const STALLED_CONSUMER_MS = 3_000;
/** Pull requests expire after this; the server's heartbeats come at half of it. */
const PULL_EXPIRES_MS = 5_000;

/**
 * Feeds one projection from a consumer that the runner owns: an ordered, unacknowledged pull
 * consumer over the whole stream starting right after the checkpoint stored with the
 * projection's tables. Each batch is applied and its checkpoint stored in one Postgres
 * transaction, so a replayed event is never applied twice. Nothing is acknowledged, so a runner
 * that dies leaves nothing pending on the server: a restarted runner reads on from its
 * checkpoint at once (no wait for an ack timeout). Stream sequences are contiguous (the stream
 * denies deletes); a missing one is never skipped: the runner re-reads from its checkpoint.
 */
export class ProjectionRunner {
  private messages: ConsumerMessages | undefined;
  private queue: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private consumeLoop: Promise<void> | undefined;
  private checkpoint = 0;
  /** Set when the consumer must be re-created from the checkpoint (after a gap). */
  private rereadFrom: number | undefined;
  /** Highest stream sequence delivered by the current consumer, and when the last one came. */
  private received = 0;
  /** True while the consumer is closed because the runner holds enough messages (back-pressure). */
  private paused = false;
  private lastDeliveryAt = 0;
  private attachedAt = 0;
  /** Ends {@link followConnection}. */
  private stopFollowing: (() => void) | undefined;
  /** Stream sequences seen beyond the checkpoint and when they were first seen, oldest first. */
  private observed: { readonly sequence: number; readonly at: number }[] = [];
  /** Callers of {@link waitFor} for a sequence not yet committed. */
  private readonly waiters = new Set<CheckpointWaiter>();
  private readonly maxBatch: number;
  private readonly consumerName: string;
  private readonly retryDelayMs: number;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.maxBatch = options.maxBatch ?? 500;
    this.consumerName = consumerNameFor(options.projection.name);
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  /** Messages received and not applied yet (bounded: see {@link highWater}). */
  get buffered(): number {
    return this.queue.length;
  }

  /** Messages held at most: at this many the consumer is closed until the runner catches up. */
  private get highWater(): number {
    return this.maxBatch * 4;
  }

  /** The projection's name. */
  get name(): string {
    return this.options.projection.name;
  }

  /** The last stream sequence committed to the projection. */
  get position(): number {
    return this.checkpoint;
  }

  /**
   * Records that the stream holds `sequence` (from its state or a delivered message), so that
   * {@link lag} can say for how long the projection has been behind it.
   */
  observeStreamSequence(sequence: number, at = Date.now()): void {
    if (sequence <= this.checkpoint) return;
    if (
      this.running &&
      !this.paused &&
      this.rereadFrom === undefined &&
      this.queue.length === 0 &&
      sequence > this.received &&
      at - Math.max(this.lastDeliveryAt, this.attachedAt) > STALLED_CONSUMER_MS
    ) {
      // Behind, and the consumer brings nothing: it is gone. Read again from the checkpoint.
      this.requestReread(this.checkpoint + 1);
    }
    const newest = this.observed.at(-1);
    if (newest !== undefined && newest.sequence >= sequence) return;
    this.observed.push({ sequence, at });
    // Bounded: keep the oldest (it dates the lag) and the newest observations.
    if (this.observed.length > 64) this.observed.splice(1, this.observed.length - 32);
  }

  /** How far behind the log the projection is, from what has been observed. */
  lag(now = Date.now()): ProjectionLag {
    const oldest = this.observed[0];
    const newest = this.observed.at(-1);
    const streamLast = Math.max(this.checkpoint, newest?.sequence ?? 0);
    return {
      sequences: streamLast - this.checkpoint,
      seconds: oldest === undefined ? 0 : Math.max(0, now - oldest.at) / 1000,
      checkpoint: this.checkpoint,
      streamLast,
    };
  }

  /** Starts consuming. Resolves once the consumer is attached. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.checkpoint = await this.readCheckpoint();
    this.advanceCheckpoint(this.checkpoint);
    try {
      await this.removeLegacyConsumer();
      await this.attachConsumer(this.checkpoint + 1);
    } catch (error) {
      this.running = false;
      if (!(error instanceof Error && /permissions violation/i.test(error.message))) throw error;
      throw new EventStoreError(
        'PROJECTION_FAILED',
        `this NATS user may not use consumer ${this.consumerName}: add projection ${this.options.projection.name} to the service's entry in libs/bus/src/users.ts (then node tools/gen-nats-permissions.mjs)`,
        { cause: error },
      );
    }
    this.loop = this.processLoop();
    void this.followConnection();
  }

  /**
   * After a reconnect the consumer may be gone (a restarted server forgets consumers kept in
   * memory) without the client noticing for a while: re-create it from the checkpoint at once.
   */
  private async followConnection(): Promise<void> {
    const statuses = this.options.nc.status();
    this.stopFollowing = () => (statuses as { stop?: () => void }).stop?.();
    try {
      for await (const status of statuses) {
        if (!this.running) return;
        if (status.type === 'reconnect') this.requestReread(this.checkpoint + 1);
      }
    } catch {
      // The connection closed: nothing more to follow.
    }
  }

  /** Stops taking new messages, finishes the batch in hand, and detaches. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopFollowing?.();
    await this.detachConsumer();
    this.wake?.();
    await this.loop;
    this.queue = [];
    this.observed = [];
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
    while (this.observed[0] !== undefined && this.observed[0].sequence <= this.checkpoint) {
      this.observed.shift();
    }
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
   * Older versions fed projections from a shared durable consumer with acknowledgements; one left
   * on the server would hold messages pending for nobody. Removed (absent is fine).
   */
  private async removeLegacyConsumer(): Promise<void> {
    const { nc, stream } = this.options;
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(stream.streamName, this.consumerName).catch((error: unknown) => {
      if (error instanceof Error && /permissions violation/i.test(error.message)) throw error;
    });
  }

  /**
   * Creates this runner's own consumer, starting at `fromSequence`: ordered (the client re-creates
   * it from the last sequence it delivered after a reconnect or a missed heartbeat), kept in
   * memory on the server, never acknowledged, removed by the server a minute after its runner
   * stops asking for messages.
   */
  private async attachConsumer(fromSequence: number): Promise<void> {
    const { nc, stream } = this.options;
    const consumer = await jetstream(nc).consumers.get(stream.streamName, {
      name_prefix: `${this.consumerName}_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      filter_subjects: allEventsSubject(stream.subjectPrefix),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSequence,
      inactive_threshold: ABANDONED_CONSUMER_MS,
    });
    const messages = await consumer.consume({ max_messages: Math.max(this.maxBatch * 2, 256), expires: PULL_EXPIRES_MS });
    this.messages = messages;
    this.received = fromSequence - 1;
    this.attachedAt = Date.now();
    this.consumeLoop = (async () => {
      for await (const message of messages) {
        this.received = Math.max(this.received, message.seq);
        this.lastDeliveryAt = Date.now();
        this.observeStreamSequence(message.seq);
        this.queue.push(message);
        this.wake?.();
        if (this.queue.length >= this.highWater && this.messages === messages) {
          // Enough in hand (a long backlog): stop pulling until the runner has applied most of
          // it, then go on from the next sequence. Holds memory to a few batches.
          this.paused = true;
          this.messages = undefined;
          void messages.close().catch(() => undefined);
          break;
        }
      }
    })()
      .catch(() => undefined)
      .then(() => {
        // The consumer ended without being asked to (the client gave up on it): read again.
        if (this.running && this.messages === messages) this.requestReread(this.checkpoint + 1);
      });
  }

  /** Has the process loop re-create the consumer from `fromSequence`. */
  private requestReread(fromSequence: number): void {
    if (this.rereadFrom !== undefined) return;
    this.rereadFrom = fromSequence;
    this.wake?.();
  }

  private async detachConsumer(): Promise<void> {
    const messages = this.messages;
    this.messages = undefined;
    await messages?.close().catch(() => undefined);
    await this.consumeLoop;
    this.consumeLoop = undefined;
  }

  private async processLoop(): Promise<void> {
    let failures = 0;
    let rereads = 0;
    let rereadAt = -1;
    while (this.running) {
      if (this.rereadFrom !== undefined) {
        const from = this.rereadFrom;
        this.rereadFrom = undefined;
        // The same hole again: the stream lacks the message; back off rather than spin.
        rereads = from === rereadAt ? rereads + 1 : 0;
        rereadAt = from;
        if (rereads > 0) await this.pause(rereads - 1);
        if (!this.running) break;
        try {
          await this.detachConsumer();
          this.queue = [];
          this.paused = false;
          await this.attachConsumer(from);
        } catch (error) {
          this.options.observer?.batchFailed?.(this.options.projection.name, error);
          this.rereadFrom = from;
          await this.pause(failures++);
        }
        continue;
      }
      if (this.paused && this.queue.length < this.maxBatch) {
        this.paused = false;
        try {
          await this.consumeLoop;
          await this.attachConsumer(this.received + 1);
        } catch (error) {
          this.paused = true;
          this.options.observer?.batchFailed?.(this.options.projection.name, error);
          await this.pause(failures++);
        }
        continue;
      }
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.processBatch(batch);
        failures = 0;
      } catch (error) {
        this.options.observer?.batchFailed?.(this.options.projection.name, error);
        // Nothing was committed: the same messages are tried again, in order, after a pause.
        this.queue.unshift(...batch);
        await this.pause(failures++);
      }
    }
  }

  /** Waits before retrying (stop cuts it short). */
  private async pause(failures: number): Promise<void> {
    const delay = Math.min(this.retryDelayMs * 2 ** Math.min(failures, 10), MAX_RETRY_DELAY_MS);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
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
    let gap: readonly JsMsg[];
    // Reported once committed: a batch rolled back and retried would count them twice.
    const deadLetters: [number, unknown][] = [];
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
          c.events.map((event) => startApplySpan(projection.name, event)),
        );
        try {
          await applyCandidates(client, projection, plan.candidates, (sequence, error) =>
            void deadLetters.push([sequence, error]),
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
    for (const [sequence, error] of deadLetters) {
      this.options.observer?.deadLettered?.(projection.name, sequence, error);
    }
    await this.options.afterCommit?.(committed);
    const firstBeyond = gap[0];
    if (firstBeyond !== undefined) {
      // Something between the checkpoint and these messages was not delivered: read it again
      // from the stream rather than skip it (the messages in hand are delivered again too).
      this.options.observer?.gapDetected?.(projection.name, committed + 1, firstBeyond.seq);
      this.rereadFrom = committed + 1;
    }
    const newest = applied.at(-1)?.events.at(-1);
    const lagMs = newest === undefined ? 0 : Date.now() - Date.parse(newest.occurredAt);
    const events = applied.reduce((sum, c) => sum + c.events.length, 0);
    this.options.observer?.batchCommitted?.(projection.name, events, committed, lagMs);
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

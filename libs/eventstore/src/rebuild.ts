import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { rebuildConsumerName } from '@trustplane/bus';
import { allEventsSubject } from '@trustplane/events';
import { aggregateTypeOfSubject, applyCandidates, toCandidate, type Candidate } from './apply.js';
import { EventStoreError } from './errors.js';
import type { Pool } from 'pg';
import type { Projection } from './projection.js';
import { eventstoreTablesSql, inTransaction, quoteIdent } from './sql.js';
import type { EventStreamSettings } from './stream.js';

/** What a rebuild produced. */
export interface RebuildResult {
  /** Schema holding the freshly built tables. */
  readonly schema: string;
  /** Last stream sequence replayed. */
  readonly throughSequence: number;
  /** Events read from the log (all types). */
  readonly eventsRead: number;
  /** Events handed to the projection. */
  readonly eventsApplied: number;
  readonly durationMs: number;
}

/** How to run a rebuild. */
export interface RebuildOptions {
  readonly nc: NatsConnection;
  readonly pool: Pool;
  readonly stream: EventStreamSettings;
  readonly projection: Projection;
  /** Schema of the live tables (their structure is copied). */
  readonly liveSchema: string;
  /** Schema to build into; created empty (it must not exist yet). */
  readonly targetSchema: string;
  /** Replay up to this sequence (default: the live projection's checkpoint). */
  readonly throughSequence?: number;
  /** Events per transaction. */
  readonly batchSize?: number;
}

/**
 * Replays a projection from sequence 1 into fresh tables with the live tables' structure,
 * committing in large batches. It reads through the projection's own rebuild consumer (the only
 * consumer name besides its durable one that the service's NATS user may use), so two rebuilds
 * of one projection on one stream cannot run at once.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { pool, projection, liveSchema, targetSchema } = options;
  const started = performance.now();
  const live = quoteIdent(liveSchema);
  const target = quoteIdent(targetSchema);
  await pool.query(`CREATE SCHEMA ${target}`);
  await pool.query(eventstoreTablesSql(targetSchema));
  for (const table of projection.tables) {
    const name = quoteIdent(table.name);
    await pool.query(`CREATE TABLE ${target}.${name} (LIKE ${live}.${name} INCLUDING ALL)`);
  }
  const through = options.throughSequence ?? (await liveCheckpoint(pool, liveSchema, projection.name));
  let eventsRead = 0;
  let eventsApplied = 0;
  if (through > 0) {
    const batchSize = options.batchSize ?? 2_000;
    const reader = await openRebuildConsumer(options, batchSize * 2);
    let pending: Candidate[] = [];
    const client = await pool.connect();
    // A session that ends mid-rebuild emits 'error' on the checked-out client (unheard, it would
    // end the process); the rebuild then fails on its next query and the client is discarded.
    let broken: Error | undefined;
    const onError = (error: Error): void => void (broken = error);
    client.on('error', onError);
    const flush = async (): Promise<void> => {
      const events = pending;
      pending = [];
      await inTransaction(client, targetSchema, async () => {
        await applyCandidates(client, projection, events);
        await client.query(
          `INSERT INTO projection_checkpoints (projection, stream_seq) VALUES ($1, $2)
           ON CONFLICT (projection) DO UPDATE SET stream_seq = EXCLUDED.stream_seq`,
          [projection.name, eventsRead],
        );
      });
      eventsApplied += events.length;
    };
    try {
      for await (const message of reader.messages) {
        // Unacknowledged delivery: a lost message would be skipped silently, so check.
        if (eventsRead !== 0 && message.seq !== eventsRead + 1) {
          throw new EventStoreError('PROJECTION_FAILED', `rebuild of ${projection.name} missed sequences ${eventsRead + 1}-${message.seq - 1}; run it again`);
        }
        eventsRead = message.seq;
        const type = aggregateTypeOfSubject(message.subject, options.stream.subjectPrefix);
        if (projection.aggregateTypes.includes(type)) pending.push(toCandidate(message, options.stream.subjectPrefix));
        if (pending.length >= batchSize) await flush();
        if (message.seq >= through) break;
      }
      await flush();
    } finally {
      client.off('error', onError);
      client.release(broken);
      await reader.close();
    }
  }
  return {
    schema: targetSchema,
    throughSequence: through,
    eventsRead,
    eventsApplied,
    durationMs: performance.now() - started,
  };
}

/** The rebuild consumer's messages from sequence 1, and how to remove it afterwards. */
async function openRebuildConsumer(
  options: RebuildOptions,
  maxMessages: number,
): Promise<{ messages: ConsumerMessages; close(): Promise<void> }> {
  const { nc, stream, projection } = options;
  const name = rebuildConsumerName(projection.name);
  const jsm = await jetstreamManager(nc);
  // A consumer left behind by an interrupted rebuild would resume where it stopped: start afresh.
  await jsm.consumers.delete(stream.streamName, name).catch(() => undefined);
  await jsm.consumers.add(stream.streamName, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: allEventsSubject(stream.subjectPrefix),
    inactive_threshold: 60_000 * 1_000_000,
  });
  const consumer = await jetstream(nc).consumers.get(stream.streamName, name);
  const messages = await consumer.consume({ max_messages: maxMessages });
  return {
    messages,
    async close() {
      await messages.close().catch(() => undefined);
      await jsm.consumers.delete(stream.streamName, name).catch(() => undefined);
    },
  };
}

/** Differences between two copies of a projection's tables. */
export interface ProjectionComparison {
  readonly equal: boolean;
  readonly tables: readonly {
    readonly table: string;
    readonly leftRows: number;
    readonly rightRows: number;
    /** md5 over every row's text form in key order: equal digests = byte-identical rows. */
    readonly leftDigest: string;
    readonly rightDigest: string;
  }[];
}

/** Compares every table of a projection between two schemas, row for row. */
export async function compareProjection(
  pool: Pool,
  projection: Projection,
  leftSchema: string,
  rightSchema: string,
): Promise<ProjectionComparison> {
  const tables = [];
  for (const table of projection.tables) {
    const order = table.orderBy.map(quoteIdent).join(', ');
    const digest = async (schema: string): Promise<{ rows: number; digest: string }> => {
      const result = await pool.query<{ rows: string; digest: string | null }>(
        `SELECT count(*) AS rows, md5(string_agg(t::text, E'\\n' ORDER BY ${order})) AS digest
           FROM ${quoteIdent(schema)}.${quoteIdent(table.name)} t`,
      );
      return { rows: Number(result.rows[0]?.rows ?? 0), digest: result.rows[0]?.digest ?? '' };
    };
    const left = await digest(leftSchema);
    const right = await digest(rightSchema);
    tables.push({
      table: table.name,
      leftRows: left.rows,
      rightRows: right.rows,
      leftDigest: left.digest,
      rightDigest: right.digest,
    });
  }
  return { equal: tables.every((t) => t.leftDigest === t.rightDigest && t.leftRows === t.rightRows), tables };
}

/** Drops a schema made by a rebuild. */
export async function dropRebuildSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
}

async function liveCheckpoint(pool: Pool, schema: string, projection: string): Promise<number> {
  const result = await pool.query<{ stream_seq: string }>(
    `SELECT stream_seq FROM ${quoteIdent(schema)}.projection_checkpoints WHERE projection = $1`,
    [projection],
  );
  return Number(result.rows[0]?.stream_seq ?? 0);
}

// A decision that emits several events is stored as ONE stream message (so no crash can leave
// half of it in the log) and every reader takes it whole: aggregate loads, projections (all of
// its events applied in one go, or none of them: dead-lettered whole, or retried whole after a
// transient failure mid-apply) and rebuilds. Real JetStream and PostgreSQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  accept,
  decodeEvent,
  decodeEvents,
  EventDecodeError,
  uuidv7,
  type AggregateRef,
  type Decider,
  type OrganizationEvent,
} from '@trustplane/events';
import { connectTestNats, createTestDatabase, deleteTestStream, testStreamSettings, type TestDatabase, type TestStream } from '@trustplane/testkit';
import {
  compareProjection,
  ConcurrencyError,
  EventLog,
  handleCommand,
  ProjectionRunner,
  rebuildProjection,
  type CommandContext,
  type Projection,
} from './index.js';
import { countingProjection, createCountingSchema, POISON_NAME } from './testing/counting-projection.js';

/** Creates an organization and renames it in one decision: two events. */
const createAndRename: Decider<{ exists: boolean }, { name: string; renameTo: string }, OrganizationEvent> = {
  aggregateType: 'organization',
  initialState: () => ({ exists: false }),
  evolve: () => ({ exists: true }),
  decide: (command) =>
    accept(
      { type: 'organization.created', schemaVersion: 1, data: { name: command.name } },
      { type: 'organization.renamed', schemaVersion: 2, data: { name: command.renameTo, previousName: command.name } },
    ),
};

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let counter = 0;
const orgRef = (id: string): AggregateRef => ({ tenant: id, aggregateType: 'organization', aggregateId: id });
const newOrgId = (): string => `t-${(++counter).toString(36).padStart(10, '0')}`;
const ctx = (): CommandContext => ({ actor: { kind: 'system', id: 'test' }, correlationId: uuidv7(), causationId: uuidv7(), now: new Date() });

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('batch');
  stream = testStreamSettings('batch');
  log = await EventLog.open(nc, stream);
});

after(async () => {
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('a two-event decision is one stream message: one sequence, Nats-Msg-Id of its first event, guarded by the expected last subject sequence', async () => {
  const ref = orgRef(newOrgId());
  const before = await log.lastSequence();
  const result = await handleCommand(log, createAndRename, ref, { name: 'a', renameTo: 'b' }, ctx());
  assert.equal(result.events.length, 2);
  assert.equal(await log.lastSequence(), before + 1, 'one message for the whole decision');
  const jsm = await jetstreamManager(nc);
  const stored = await jsm.streams.getMessage(stream.streamName, { seq: before + 1 });
  assert.ok(stored !== null);
  assert.equal(stored.header?.get('Nats-Msg-Id'), result.events[0]?.id);
  assert.deepEqual(decodeEvents(stored.data).map((e) => e.type), ['organization.created', 'organization.renamed']);
  assert.throws(() => decodeEvent(stored.data), (error: unknown) => error instanceof EventDecodeError && error.code === 'EVENT_MALFORMED');
  const read = await log.readAggregate(ref);
  assert.deepEqual(read.map((e) => [e.event.type, e.sequence]), [['organization.created', before + 1], ['organization.renamed', before + 1]]);
  assert.equal(result.version, before + 1);

  // Sent again (a retry after a lost answer): stored once.
  const again = await log.append(ref, 0, result.events);
  assert.equal(again.duplicate, true);
  assert.equal(await log.lastSequence(), before + 1);
  // Another decision taken against the old version: refused whole, nothing stored.
  const stale = await handleCommand(log, createAndRename, orgRef(newOrgId()), { name: 'c', renameTo: 'd' }, ctx());
  await assert.rejects(log.append(ref, 0, stale.events.map((e) => ({ ...e, id: uuidv7(), aggregateId: ref.aggregateId, tenant: ref.tenant }))), ConcurrencyError);
  assert.equal(await log.lastSequence(), before + 2, 'only the other aggregate was written');
  // A batch that mixes aggregates is never stored.
  await assert.rejects(log.append(ref, before + 1, [result.events[0]!, stale.events[0]!]), /belongs to/);
});

test('a projection applies a decision all or none: a failure on its second event dead-letters the whole message, a transient one retries it whole', async () => {
  const schema = 'proj_batch';
  await createCountingSchema(db.pool, schema);
  const poisoned = orgRef(newOrgId());
  await handleCommand(log, createAndRename, poisoned, { name: 'fine', renameTo: POISON_NAME }, ctx());
  const flaky = orgRef(newOrgId());
  await handleCommand(log, createAndRename, flaky, { name: 'flaky', renameTo: 'flaky-renamed' }, ctx());
  const last = await log.lastSequence();

  // Fails once with a serialization failure (transient) while applying the flaky rename, after
  // the create of the same message has been written in the transaction.
  let failedOnce = false;
  const projection: Projection = {
    ...countingProjection,
    async applyBatch(tx, events) {
      for (const positioned of events) {
        await countingProjection.applyBatch(tx, [positioned]);
        const { event } = positioned;
        if (!failedOnce && event.type === 'organization.renamed' && event.aggregateId === flaky.aggregateId) {
          failedOnce = true;
          throw Object.assign(new Error('could not serialize access'), { code: '40001' });
        }
      }
    },
  };
  const deadLettered: number[] = [];
  const failures: unknown[] = [];
  const runner = new ProjectionRunner({
    nc,
    pool: db.pool,
    stream,
    schema,
    projection,
    retryDelayMs: 20,
    observer: { deadLettered: (_p, sequence) => void deadLettered.push(sequence), batchFailed: (_p, error) => void failures.push(error) },
  });
  await runner.start();
  try {
    await runner.waitFor(last, 15_000);
  } finally {
    await runner.stop();
  }
  const rows = await db.pool.query(`SELECT id, name, events_applied FROM ${schema}.orgs WHERE id = ANY($1) ORDER BY id`, [[poisoned.aggregateId, flaky.aggregateId]]);
  assert.deepEqual(
    rows.rows,
    [{ id: flaky.aggregateId, name: 'flaky-renamed', events_applied: 2 }],
    'the poisoned decision left nothing (its create is not applied without its rename); the flaky one was applied once, whole',
  );
  assert.ok(failedOnce && failures.length >= 1, 'the transient failure happened and was retried');
  const dead = await db.pool.query(`SELECT stream_seq, event_id, event_type FROM ${schema}.projection_dead_letters`);
  assert.equal(dead.rows.length, 1);
  assert.equal(dead.rows[0].event_type, 'organization.created,organization.renamed');
  assert.deepEqual(deadLettered, [Number(dead.rows[0].stream_seq)]);

  // A rebuild reads the same messages the same way.
  await rebuildProjection({ nc, pool: db.pool, stream, projection: countingProjection, liveSchema: schema, targetSchema: 'proj_batch_rebuild' });
  const comparison = await compareProjection(db.pool, countingProjection, schema, 'proj_batch_rebuild');
  assert.equal(comparison.equal, true, JSON.stringify(comparison));
});

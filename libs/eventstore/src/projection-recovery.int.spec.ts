// How a projection runner recovers, on a real JetStream stream and PostgreSQL: a runner that
// replaces one that died resumes from the checkpoint at once, even when the dead one left
// messages pending on a durable consumer with a 30 s ack wait (the old design); the running
// service user may do so; and a hole in the log is never skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEvent, toEnvelope, uuidv7, type AggregateRef, type DomainEnvelope, type OrganizationEvent } from '@trustplane/events';
import {
  connectTestNats,
  connectTestNatsAs,
  createTestDatabase,
  deleteTestStream,
  eventually,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { consumerNameFor, EventLog, ProjectionRunner, type ProjectionObserver } from './index.js';
import { countingProjection, createCountingSchema } from './testing/counting-projection.js';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let counter = 0;

const orgRef = (id: string): AggregateRef => ({ tenant: id, aggregateType: 'organization', aggregateId: id });
const newOrgId = (): string => `t-${(++counter).toString(36).padStart(10, '0')}`;

function created(ref: AggregateRef, name: string): DomainEnvelope {
  return toEnvelope<OrganizationEvent>(
    { type: 'organization.created', schemaVersion: 1, data: { name } },
    { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 't' }, causationId: 'c', correlationId: 'c' },
    uuidv7(),
  );
}

async function appendOrgs(count: number): Promise<AggregateRef[]> {
  const refs: AggregateRef[] = [];
  for (let i = 0; i < count; i++) {
    const ref = orgRef(newOrgId());
    await log.append(ref, 0, [created(ref, `org-${ref.aggregateId}`)]);
    refs.push(ref);
  }
  return refs;
}

async function orgCount(schema: string): Promise<number> {
  return Number((await db.pool.query(`SELECT count(*) AS n FROM ${schema}.orgs`)).rows[0].n);
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('recovery');
  stream = testStreamSettings('recovery');
  log = await EventLog.open(nc, stream);
});

after(async () => {
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('a runner replacing a dead one resumes from the checkpoint at once, whatever the dead one left pending', async () => {
  const schema = 'proj_resume';
  await createCountingSchema(db.pool, schema);
  await appendOrgs(5);
  // The dead process of the old design: a durable consumer with a 30 s ack wait, ten messages
  // delivered to it and never acknowledged.
  const jsm = await jetstreamManager(nc);
  const legacy = consumerNameFor(countingProjection.name);
  await jsm.consumers.add(stream.streamName, {
    durable_name: legacy,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000 * 1_000_000,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${stream.subjectPrefix}.evt.>`,
  });
  const pending = await (await jetstream(nc).consumers.get(stream.streamName, legacy)).fetch({ max_messages: 5, expires: 2_000 });
  let delivered = 0;
  for await (const _message of pending) delivered += 1;
  assert.equal(delivered, 5, 'the dead consumer holds every message ack-pending');
  await appendOrgs(3);
  const last = await log.lastSequence();

  const runner = new ProjectionRunner({ nc, pool: db.pool, stream, schema, projection: countingProjection });
  const started = performance.now();
  await runner.start();
  try {
    await runner.waitFor(last, 10_000);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 3_000, `caught up in ${Math.round(tookMs)} ms (the ack wait is 30 s)`);
    assert.equal(await orgCount(schema), 8);
    await assert.rejects(jsm.consumers.info(stream.streamName, legacy), 'the durable consumer of the old design is gone');
    // A second generation after a stop starts from the committed checkpoint, not from 1.
    await runner.stop();
    await appendOrgs(2);
    const again = new ProjectionRunner({ nc, pool: db.pool, stream, schema, projection: countingProjection });
    await again.start();
    await again.waitFor(last + 2, 10_000);
    await again.stop();
    assert.equal(await orgCount(schema), 10);
    const applied = await db.pool.query(`SELECT max(events_applied) AS most FROM ${schema}.orgs`);
    assert.equal(applied.rows[0].most, 1, 'no event applied twice');
  } finally {
    await runner.stop();
  }
});

test('a service user runs its projections through consumers of its own and cannot touch another service consumer', async () => {
  const schema = 'proj_service_user';
  await createCountingSchema(db.pool, schema);
  const registry = await connectTestNatsAs('registry');
  try {
    const projection = { ...countingProjection, name: 'registry.model' };
    const runner = new ProjectionRunner({ nc: registry, pool: db.pool, stream, schema, projection });
    await runner.start();
    try {
      await runner.waitFor(await log.lastSequence(), 10_000);
      assert.ok((await orgCount(schema)) > 0);
    } finally {
      await runner.stop();
    }
    const foreign = { ...countingProjection, name: 'signer.model' };
    const refused = new ProjectionRunner({ nc: registry, pool: db.pool, stream, schema, projection: foreign });
    await assert.rejects(refused.start(), (error: unknown) => {
      assert.ok(error instanceof Error && 'code' in error && error.code === 'PROJECTION_FAILED', String(error));
      return true;
    });
  } finally {
    await registry.close();
  }
});

test('a hole in the log is never skipped: the runner stops before it, reports it and its lag, and reads again', async () => {
  // A stream that, unlike the event log, lets a message be deleted: the only way to make a hole.
  const holey = testStreamSettings('holey');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: holey.streamName,
    subjects: [`${holey.subjectPrefix}.evt.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
  });
  const js = jetstream(nc);
  try {
    for (let i = 0; i < 5; i++) {
      const ref = orgRef(newOrgId());
      await js.publish(`${holey.subjectPrefix}.evt.${ref.tenant}.organization.${ref.aggregateId}`, encodeEvent(created(ref, `h${i}`)));
    }
    await jsm.streams.deleteMessage(holey.streamName, 3);
    const schema = 'proj_gap';
    await createCountingSchema(db.pool, schema);
    const gaps: [number, number][] = [];
    const observer: ProjectionObserver = { gapDetected: (_p, missing, received) => void gaps.push([missing, received]) };
    const runner = new ProjectionRunner({ nc, pool: db.pool, stream: holey, schema, projection: countingProjection, observer, retryDelayMs: 50 });
    await runner.start();
    try {
      await eventually(() => gaps.length >= 2, 10_000, 'the hole to be reported (and read again)');
      assert.deepEqual(gaps[0], [3, 4], 'sequence 3 is missing, 4 arrived');
      assert.equal(runner.position, 2, 'applied up to the hole, nothing beyond');
      assert.equal(await orgCount(schema), 2);
      const lag = runner.lag();
      assert.equal(lag.sequences, 3, JSON.stringify(lag));
      assert.ok(lag.seconds > 0, JSON.stringify(lag));
    } finally {
      await runner.stop();
    }
  } finally {
    await deleteTestStream(nc, holey.streamName);
  }
});

test('a long backlog is read a few batches at a time: the runner never holds more than four batches, and applies each event once', async () => {
  const schema = 'proj_backlog';
  await createCountingSchema(db.pool, schema);
  await appendOrgs(300);
  const last = await log.lastSequence();
  // A slow projection: the consumer would deliver far faster than it applies.
  const slow = {
    ...countingProjection,
    async applyBatch(tx: Parameters<typeof countingProjection.applyBatch>[0], events: Parameters<typeof countingProjection.applyBatch>[1]) {
      await new Promise((r) => setTimeout(r, 5));
      await countingProjection.applyBatch(tx, events);
    },
  };
  const runner = new ProjectionRunner({ nc, pool: db.pool, stream, schema, projection: slow, maxBatch: 5 });
  let most = 0;
  const sampler = setInterval(() => (most = Math.max(most, runner.buffered)), 1);
  await runner.start();
  try {
    await runner.waitFor(last, 60_000);
  } finally {
    clearInterval(sampler);
    await runner.stop();
  }
  assert.ok(most <= 20, `held at most ${most} messages (four batches of 5)`);
  assert.ok(most >= 5, `it did read ahead (${most})`);
  const counts = await db.pool.query(`SELECT count(*) AS n, max(events_applied) AS most FROM ${schema}.orgs`);
  assert.ok(Number(counts.rows[0].n) >= 300, `${counts.rows[0].n} organizations`);
  assert.equal(counts.rows[0].most, 1, 'no event applied twice');
});


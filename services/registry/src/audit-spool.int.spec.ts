// The durable audit publisher against real PostgreSQL and NATS JetStream: records are spooled
// before anything is published, wait there while the audit stream is missing, are published once
// it is back (by whichever publisher gets there: a restarted process or another replica) with
// their id as Nats-Msg-Id, and a spool row that is not a record is never published nor blocks the
// rest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuditPublisher, PgAuditSpool, auditSpoolDdl, type AuditRecord } from '@trustplane/api-kit';
import { uuidv7 } from '@trustplane/events';
import { connectTestNats, createTestDatabase, deleteTestStream, eventually, testStreamSettings, type TestDatabase } from '@trustplane/testkit';
import pino from 'pino';

let nc: NatsConnection;
let db: TestDatabase;
const stream = testStreamSettings('audit_spool');
const logger = pino({ level: 'silent' });

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('audit_spool');
  await db.pool.query('CREATE SCHEMA reg');
  await db.pool.query(auditSpoolDdl('reg'));
});

after(async () => {
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

function record(resource: string): AuditRecord {
  return {
    id: uuidv7(),
    service: 'registry',
    organizationId: 't-0000000001',
    actor: { kind: 'token', id: 'tok-0000000001' },
    action: 'POST /api/v1/trust-domains',
    resource,
    outcome: 'succeeded',
    status: 201,
    code: null,
    occurredAt: new Date().toISOString(),
  };
}

async function stored(): Promise<{ id: string; resource: string }[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream.streamName).catch(() => undefined);
  const out: { id: string; resource: string }[] = [];
  for (let seq = info?.state.first_seq ?? 1; info !== undefined && seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream.streamName, { seq }).catch(() => undefined);
    if (message !== undefined && message !== null) out.push(message.json<{ id: string; resource: string }>());
  }
  return out;
}

const spoolRows = async (): Promise<number> => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM reg.audit_spool')).rows[0]?.n);

test('spooled before publishing, kept while the stream is missing, published once by the next publisher; a malformed row is skipped and left', async () => {
  const spool = new PgAuditSpool(db.pool, 'reg');
  const first = new AuditPublisher(nc, stream.subjectPrefix, logger, undefined, spool);
  const records = [record('/one'), record('/two')];
  // No audit stream yet: publish resolves once the record is committed to the spool.
  for (const r of records) await first.publish(r);
  assert.equal(await spoolRows(), 2);
  // A hostile or damaged row between them (edited by hand): never published, never blocking.
  await db.pool.query(`INSERT INTO reg.audit_spool (record_id, record) VALUES ('garbage', '{"id":"garbage","service":"registry"}')`);
  const late = record('/three');
  await first.publish(late);
  await first.close(100);
  assert.equal(await spoolRows(), 4, 'nothing lost while the stream is missing');

  // The stream comes back; a record was already stored before "the crash" (same id).
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream.streamName, subjects: [`${stream.subjectPrefix}.audit.>`], duplicate_window: 120 * 1e9 });
  await jetstream(nc).publish(`${stream.subjectPrefix}.audit.registry.t-0000000001`, JSON.stringify(records[0]), { msgID: records[0]!.id });

  // Two publishers start on the same spool (a restarted process and another replica).
  const restarted = new AuditPublisher(nc, stream.subjectPrefix, logger, undefined, spool);
  const replica = new AuditPublisher(nc, stream.subjectPrefix, logger, undefined, spool);
  restarted.start(200);
  replica.start(200);
  try {
    await eventually(async () => (await spoolRows()) === 1, 20_000, 'spool drained');
    const left = await db.pool.query<{ record_id: string }>('SELECT record_id FROM reg.audit_spool');
    assert.deepEqual(left.rows.map((r) => r.record_id), ['garbage']);
    const messages = await stored();
    assert.deepEqual(messages.map((m) => m.resource), ['/one', '/two', '/three'], 'each record stored once, in order');
    assert.deepEqual(messages.map((m) => m.id), [...records, late].map((r) => r.id));
  } finally {
    await restarted.close(100);
    await replica.close(100);
  }
});

test('without the spool table the record is still kept (in memory) and published once the stream answers', async () => {
  const broken = new PgAuditSpool(db.pool, 'no_such_schema');
  const publisher = new AuditPublisher(nc, stream.subjectPrefix, logger, undefined, broken);
  const r = record('/memory');
  await publisher.publish(r);
  try {
    await eventually(async () => (await stored()).some((m) => m.id === r.id), 20_000, 'published from memory');
  } finally {
    await publisher.close(100);
  }
});

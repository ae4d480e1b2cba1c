// Signer processes under faults, on real NATS and Postgres: the database sessions of the signer
// are killed again and again (pg_terminate_backend) and the pool does not leak, rotation goes
// on and SIGTERM still stops it; two signers share a database and a stream, the rotation
// leader is SIGKILLed and the other one does the rotation that falls due next, once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { CA, caDecider, type Keyset } from '@trustplane/ca-domain';
import { EventLog } from '@trustplane/eventstore';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  exitCodeOf,
  freePort,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  TEST_DATABASE_URL,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import pg from 'pg';
import { metricValue } from './testing/clock.js';
import { seedTrustDomain, type SeededTrustDomain } from './testing/harness.js';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let admin: pg.Client;
const work = mkdtempSync(join(tmpdir(), 'tps-faults-'));
const running: RunningService[] = [];

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('signer_faults');
  stream = testStreamSettings('signer_faults');
  log = await EventLog.open(nc, stream);
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
});
after(async () => {
  // (stop() of testkit waits for an exit that a SIGKILLed process has already reported.)
  for (const service of running) if (service.process.exitCode === null && service.process.signalCode === null) await service.stop();
  await admin.end();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

/** A signer process whose database sessions carry `application_name` = name (to find and kill them). */
async function startSigner(name: string, extraEnv: Record<string, string> = {}): Promise<RunningService & { name: string }> {
  const port = await freePort();
  const url = new URL(db.url);
  url.searchParams.set('application_name', name);
  const service = await startServiceProcess(
    'signer',
    {
      ...testNatsEnv(),
      DATABASE_URL: url.toString(),
      TP_EVENT_STREAM: stream.streamName,
      TP_SUBJECT_PREFIX: stream.subjectPrefix,
      TP_SIGNER_PORT: String(port),
      TP_LOG_LEVEL: 'warn',
      TP_SIGNER_CUSTODY_DIR: join(work, name, 'c'),
      TP_SIGNER_KEY_DIR: join(work, name, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, name, 'kek'),
      TP_SIGNER_TICK_MS: '100',
      ...extraEnv,
    },
    port,
  );
  running.push(service);
  return { ...service, name };
}

async function scrape(service: RunningService): Promise<string> {
  try {
    return await (await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  } catch (error) {
    throw new Error(`${service.url}/metrics: ${String(error)}\n${service.output().slice(-3_000)}`);
  }
}

/** The CA events of a deployment, by type. */
async function caEvents(td: SeededTrustDomain): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { event } of await log.readAggregate({ tenant: td.tenant, aggregateType: CA, aggregateId: td.deploymentId })) {
    counts[event.type] = (counts[event.type] ?? 0) + 1;
  }
  return counts;
}

/** The keysets of a deployment as folded from its events, oldest first. */
async function keysets(td: SeededTrustDomain): Promise<readonly Keyset[]> {
  let state = caDecider.initialState();
  for (const { event } of await log.readAggregate({ tenant: td.tenant, aggregateType: CA, aggregateId: td.deploymentId })) {
    state = caDecider.evolve(state, event as never);
  }
  return state.keysets;
}

async function hasActiveCa(td: SeededTrustDomain): Promise<boolean> {
  return ((await caEvents(td))['ca.keyset_activated'] ?? 0) > 0;
}

async function killSessions(applicationName: string): Promise<number> {
  // Select first, terminate after: a WHERE clause has no evaluation order, so the terminate
  // must not sit next to the filter (it would run for other sessions of the server too).
  const sessions = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [db.name, applicationName]);
  let killed = 0;
  for (const { pid } of sessions.rows) {
    const result = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE pid = $1 AND datname = $2 AND application_name = $3', [pid, db.name, applicationName]);
    if (result.rows[0]?.done === true) killed += 1;
  }
  return killed;
}

test('20 killed database sessions: the pool does not leak, rotation goes on, SIGTERM stops the signer within 10 s', async () => {
  const signer = await startSigner('signer_pg');
  const first = await seedTrustDomain(log, 'pg-faults.example');
  await eventually(() => hasActiveCa(first), 20_000, 'the first CA');
  await eventually(async () => metricValue(await scrape(signer), 'tp_signer_rotation_leader') === 1, 10_000, 'leadership');

  let killed = 0;
  for (let round = 0; round < 20; round++) {
    killed += await killSessions(signer.name);
    // Let the signer notice, take the lock again and run a pass.
    await eventually(async () => metricValue(await scrape(signer), 'tp_signer_rotation_leader') === 1, 10_000, `leadership after kill ${round + 1}`);
  }
  assert.ok(killed >= 20, `${killed} sessions killed`);

  const metrics = await scrape(signer);
  assert.ok(metricValue(metrics, 'tp_signer_rotation_leader_sessions_lost_total') >= 10, 'the lost sessions were noticed');
  assert.ok(metricValue(metrics, 'tp_signer_db_pool_connections', { state: 'in_use' }) <= 2, metrics.match(/tp_signer_db_pool.*\n/g)?.join(''));
  assert.equal(metricValue(metrics, 'tp_signer_db_pool_connections', { state: 'waiting' }), 0);
  const ready = await fetch(`${signer.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(ready.status, 200, await ready.text());

  const second = await seedTrustDomain(log, 'pg-faults-2.example');
  await eventually(() => hasActiveCa(second), 15_000, 'a CA for a trust domain created after the faults');

  const stoppedAt = Date.now();
  signer.process.kill('SIGTERM');
  assert.equal(await exitCodeOf(signer.process, 10_000), 0, signer.output().slice(-2_000));
  assert.ok(Date.now() - stoppedAt < 10_000);
});

test('two signers, the rotation leader SIGKILLed: the other takes over its rotation work on time, nothing is rotated twice', async () => {
  // 60 s CAs: the successor of a CA is due 30 s after it was made, after the leader is gone.
  const shortCa = { TP_SIGNER_CA_TTL_SECONDS: '60', TP_SIGNER_X509_SVID_TTL_SECONDS: '10', TP_SIGNER_JWT_SVID_TTL_SECONDS: '10' };
  const a = await startSigner('signer_a', shortCa);
  const b = await startSigner('signer_b', shortCa);
  const leaders = async (): Promise<(typeof a)[]> => {
    const found: (typeof a)[] = [];
    for (const s of [a, b]) if (metricValue(await scrape(s), 'tp_signer_rotation_leader') === 1) found.push(s);
    return found;
  };
  await eventually(async () => (await leaders()).length === 1, 15_000, 'one leader');
  const td = await seedTrustDomain(log, 'leader.example');
  await eventually(() => hasActiveCa(td), 20_000, 'a CA made by the first leader');
  const [leader] = await leaders();
  assert.ok(leader);
  const standby = leader === a ? b : a;
  assert.equal(metricValue(await scrape(standby), 'tp_signer_rotation_leader'), 0, 'the standby does not rotate');
  const [firstKeyset] = await keysets(td);
  assert.ok(firstKeyset);
  const successorDue = firstKeyset.notAfter - 30_000;
  assert.ok(successorDue - Date.now() > 15_000, 'the successor is due after the kill');

  leader.process.kill('SIGKILL');
  const killedAt = Date.now();
  await eventually(async () => metricValue(await scrape(standby), 'tp_signer_rotation_leader') === 1, 10_000, 'the standby takes the lead');
  assert.ok(Date.now() - killedAt < 10_000, `took the lead ${Date.now() - killedAt} ms after the kill`);

  await eventually(async () => (await keysets(td)).length === 2, successorDue - Date.now() + 10_000, 'the successor, prepared by the new leader').catch((error: unknown) => {
    throw new Error(`${String(error)}\n${standby.output().slice(-3_000)}`);
  });
  const prepared = (await keysets(td))[1];
  assert.ok(prepared !== undefined && prepared.preparedAt >= successorDue && prepared.preparedAt < successorDue + 5_000, `prepared ${(prepared?.preparedAt ?? 0) - successorDue} ms after it was due`);
  // More passes of the new leader: still one keyset prepared per rotation, one activation.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const counts = await caEvents(td);
  assert.equal(counts['ca.keyset_prepared'], 2, JSON.stringify(counts));
  assert.equal(counts['ca.keyset_activated'], 1, JSON.stringify(counts));
});

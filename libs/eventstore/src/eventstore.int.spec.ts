import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  accept,
  DomainError,
  reject,
  toEnvelope,
  uuidv7,
  type AggregateRef,
  type Decider,
  type DomainEnvelope,
  type OrganizationEvent,
} from '@trustplane/events';
import {
  connectTestNats,
  connectTestNatsAs,
  createTestDatabase,
  deleteTestStream,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import {
  compareProjection,
  ConcurrencyError,
  EventLog,
  eventStreamConfig,
  handleCommand,
  ProjectionRunner,
  provisionEventStream,
  rebuildProjection,
  refusalReason,
  type CommandContext,
} from './index.js';
import { countingProjection, createCountingSchema, POISON_NAME } from './testing/counting-projection.js';

type Org = { exists: boolean; name: string; renames: number };
type OrgCommand = { kind: 'create'; name: string } | { kind: 'rename'; name: string };

const orgDecider: Decider<Org, OrgCommand, OrganizationEvent> = {
  aggregateType: 'organization',
  initialState: () => ({ exists: false, name: '', renames: 0 }),
  evolve: (state, event) =>
    event.type === 'organization.created'
      ? { exists: true, name: event.data.name, renames: 0 }
      : { ...state, name: event.data.name, renames: state.renames + 1 },
  decide: (command, state) => {
    if (command.kind === 'create') {
      return state.exists
        ? reject(new DomainError('ORGANIZATION_EXISTS', 'exists', 'conflict'))
        : accept({ type: 'organization.created', schemaVersion: 1, data: { name: command.name } });
    }
    return state.exists
      ? accept({ type: 'organization.renamed', schemaVersion: 2, data: { name: command.name, previousName: state.name } })
      : reject(new DomainError('ORGANIZATION_NOT_FOUND', 'missing', 'not_found'));
  },
};

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;

const ctx = (): CommandContext => ({
  actor: { kind: 'system', id: 'test' },
  correlationId: uuidv7(),
  causationId: uuidv7(),
  now: new Date(),
});
const orgRef = (id: string): AggregateRef => ({ tenant: id, aggregateType: 'organization', aggregateId: id });
let counter = 0;
const newOrgId = (): string => `t-${(++counter).toString(36).padStart(10, '0')}`;

function created(ref: AggregateRef, name: string): DomainEnvelope {
  return toEnvelope<OrganizationEvent>(
    { type: 'organization.created', schemaVersion: 1, data: { name } },
    { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 't' }, causationId: 'c', correlationId: 'c' },
    uuidv7(),
  );
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('eventstore');
  stream = testStreamSettings('eventstore');
  log = await EventLog.open(nc, stream);
});

after(async () => {
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('the stream is created append-only and re-opening it is idempotent', async () => {
  await EventLog.open(nc, stream);
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream.streamName);
  assert.equal(info.config.deny_delete, true);
  assert.equal(info.config.deny_purge, true);
  assert.equal(info.config.storage, 'file');
});

test('deleting a message or purging the stream is refused by the server', async () => {
  const ref = orgRef(newOrgId());
  const { version } = await log.append(ref, 0, [created(ref, 'to-delete')]);
  const jsm = await jetstreamManager(nc);
  await assert.rejects(jsm.streams.deleteMessage(stream.streamName, version), /not permitted/);
  await assert.rejects(jsm.streams.purge(stream.streamName), /not permitted/);
  await assert.rejects(
    jsm.streams.update(stream.streamName, { ...(await jsm.streams.info(stream.streamName)).config, deny_delete: false }),
    /can not cancel deny message deletes/,
  );
  assert.equal(await log.version(ref), version);
});

test('two concurrent appends at the same expected version: exactly one wins', async () => {
  const ref = orgRef(newOrgId());
  await handleCommand(log, orgDecider, ref, { kind: 'create', name: 'start' }, ctx());
  const version = await log.version(ref);
  const rename = (name: string): DomainEnvelope =>
    toEnvelope<OrganizationEvent>(
      { type: 'organization.renamed', schemaVersion: 2, data: { name, previousName: 'start' } },
      { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 't' }, causationId: 'c', correlationId: 'c' },
      uuidv7(),
    );
  const results = await Promise.allSettled([
    log.append(ref, version, [rename('a')]),
    log.append(ref, version, [rename('b')]),
  ]);
  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(fulfilled.length, 1);
  assert.equal(rejected.length, 1);
  assert.ok(rejected[0]?.reason instanceof ConcurrencyError);
  assert.equal((rejected[0]?.reason as ConcurrencyError).code, 'CONCURRENCY_CONFLICT');
});

test('concurrent commands through the retrying handler all succeed with the right state', async () => {
  const ref = orgRef(newOrgId());
  await handleCommand(log, orgDecider, ref, { kind: 'create', name: 'n0' }, ctx());
  const names = Array.from({ length: 8 }, (_, i) => `n${i + 1}`);
  await Promise.all(
    names.map((name) => handleCommand(log, orgDecider, ref, { kind: 'rename', name }, ctx(), { maxAttempts: 20 })),
  );
  const loaded = await log.load(ref, {
    initialState: orgDecider.initialState,
    evolve: (s, e) => orgDecider.evolve(s, e as never),
  });
  assert.equal(loaded.state.renames, 8, 'every rename was applied exactly once');
  const events = await log.readAggregate(ref);
  assert.equal(events.length, 9);
  assert.equal(loaded.version, events.at(-1)?.sequence);
});

test('a refused command appends nothing', async () => {
  const ref = orgRef(newOrgId());
  const before = await log.lastSequence();
  await assert.rejects(
    handleCommand(log, orgDecider, ref, { kind: 'rename', name: 'x' }, ctx()),
    (e: unknown) => e instanceof DomainError && e.code === 'ORGANIZATION_NOT_FOUND',
  );
  assert.equal(await log.lastSequence(), before);
});

test('the same event id appended twice is stored once', async () => {
  const ref = orgRef(newOrgId());
  const event = created(ref, 'dedupe');
  const first = await log.append(ref, 0, [event]);
  const second = await log.append(ref, 0, [event]);
  assert.equal(second.duplicate, true);
  assert.equal(second.version, first.version);
  const events = await log.readAggregate(ref);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.event.id, event.id);
});

test('projection: poison events go to the dead-letter table and later events still apply; rebuild equals live', async () => {
  const schema = 'proj_poison';
  await createCountingSchema(db.pool, schema);
  const runner = new ProjectionRunner({ nc, pool: db.pool, stream, schema, projection: countingProjection });
  await runner.start();
  try {
    const good1 = orgRef(newOrgId());
    const bad = orgRef(newOrgId());
    const good2 = orgRef(newOrgId());
    await log.append(good1, 0, [created(good1, 'first')]);
    const poison = await log.append(bad, 0, [created(bad, POISON_NAME)]);
    await handleCommand(log, orgDecider, good2, { kind: 'create', name: 'second' }, ctx());
    const last = await handleCommand(log, orgDecider, good2, { kind: 'rename', name: 'second-renamed' }, ctx());
    await runner.waitFor(last.version);
    const rows = await db.pool.query(`SELECT id, name, events_applied FROM ${schema}.orgs WHERE id = ANY($1) ORDER BY id`, [
      [good1.aggregateId, bad.aggregateId, good2.aggregateId],
    ]);
    assert.deepEqual(
      rows.rows.map((r) => [r.id, r.name, r.events_applied]),
      [
        [good1.aggregateId, 'first', 1],
        [good2.aggregateId, 'second-renamed', 2],
      ],
    );
    const dead = await db.pool.query(`SELECT stream_seq, event_type, error FROM ${schema}.projection_dead_letters`);
    assert.equal(dead.rows.length, 1);
    assert.equal(Number(dead.rows[0].stream_seq), poison.version);
    assert.equal(dead.rows[0].event_type, 'organization.created');
    assert.match(dead.rows[0].error, /poison event/);

    const rebuilt = await rebuildProjection({
      nc,
      pool: db.pool,
      stream,
      projection: countingProjection,
      liveSchema: schema,
      targetSchema: 'proj_poison_rebuild',
    });
    assert.equal(rebuilt.throughSequence, runner.position);
    const comparison = await compareProjection(db.pool, countingProjection, schema, 'proj_poison_rebuild');
    assert.equal(comparison.equal, true, JSON.stringify(comparison));
    assert.ok((comparison.tables[0]?.leftRows ?? 0) >= 2);
  } finally {
    await runner.stop();
  }
});

test('a runner killed right after a commit does not apply events twice when it restarts', async () => {
  const schema = 'proj_crash';
  await createCountingSchema(db.pool, schema);
  const refs = [orgRef(newOrgId()), orgRef(newOrgId()), orgRef(newOrgId())];
  for (const ref of refs) await log.append(ref, 0, [created(ref, `crash-${ref.aggregateId}`)]);
  const lastSeq = await log.lastSequence();

  const child = spawn(
    process.execPath,
    [join(__dirname, 'testing', 'crash-after-commit.js'), db.url, stream.streamName, stream.subjectPrefix, schema],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', output);
  assert.match(output, /committed \d+/);

  const readCheckpoint = async (): Promise<number> =>
    Number((await db.pool.query(`SELECT stream_seq FROM ${schema}.projection_checkpoints`)).rows[0].stream_seq);
  const committedBeforeCrash = await readCheckpoint();
  assert.ok(committedBeforeCrash > 0, 'the crashed process committed a batch');
  const snapshot = async () =>
    (await db.pool.query(`SELECT id, name, events_applied FROM ${schema}.orgs ORDER BY id`)).rows;
  const committedRows = await snapshot();

  const runner = new ProjectionRunner({ nc, pool: db.pool, stream, schema, projection: countingProjection });
  await runner.start();
  try {
    await runner.waitFor(lastSeq, 15_000);
    const rows = await snapshot();
    for (const row of committedRows) {
      assert.deepEqual(rows.find((r) => r.id === row.id), row, 'redelivery left committed rows unchanged');
    }
    for (const row of rows) {
      const stored = await log.readAggregate(orgRef(row.id));
      assert.equal(row.events_applied, stored.length, `${row.id}: each stored event applied exactly once`);
    }
    for (const ref of refs) assert.ok(rows.some((r) => r.id === ref.aggregateId));
    assert.equal(await readCheckpoint(), lastSeq);
  } finally {
    await runner.stop();
  }
});

test('a service opening the log never changes the stream: differing settings are refused by name; the admin provisions them', async () => {
  const other = testStreamSettings('eventstore_cfg');
  const adminJsm = await jetstreamManager(nc);
  const oneHour = 3_600 * 1_000_000_000;
  await adminJsm.streams.add({ ...eventStreamConfig(other), max_age: oneHour });
  const registry = await connectTestNatsAs('registry');
  try {
    await assert.rejects(EventLog.open(registry, other), (error: unknown) => {
      assert.ok(error instanceof Error && 'code' in error && error.code === 'STREAM_MISCONFIGURED');
      assert.match(error.message, /max_age is 3600000000000 \(the event log needs 0\)/);
      return true;
    });
    assert.equal((await adminJsm.streams.info(other.streamName)).config.max_age, oneHour, 'left as it was');
    await provisionEventStream(adminJsm, other);
    assert.equal((await adminJsm.streams.info(other.streamName)).config.max_age, 0);
    await EventLog.open(registry, other);
  } finally {
    await registry.close();
    await deleteTestStream(nc, other.streamName);
  }
});

test('a service creates a missing stream when it opens the log', async () => {
  const fresh = testStreamSettings('eventstore_new');
  const signer = await connectTestNatsAs('signer');
  try {
    await EventLog.open(signer, fresh);
    const info = await (await jetstreamManager(nc)).streams.info(fresh.streamName);
    assert.equal(info.config.deny_delete, true);
  } finally {
    await signer.close();
    await deleteTestStream(nc, fresh.streamName);
  }
});

test('projection: events stored where their envelope says they do not belong are refused, dead-lettered with the reason, never applied', async () => {
  const schema = 'proj_forged';
  await createCountingSchema(db.pool, schema);
  const refused: [number, string | undefined][] = [];
  const runner = new ProjectionRunner({
    nc,
    pool: db.pool,
    stream,
    schema,
    projection: countingProjection,
    observer: { deadLettered: (_projection, sequence, error) => refused.push([sequence, refusalReason(error)]) },
  });
  await runner.start();
  try {
    const victim = orgRef(newOrgId());
    const attacker = orgRef(newOrgId());
    const js = jetstream(nc);
    // Published straight onto the stream (as the admin: no service may publish these).
    const forge = async (subjectRef: AggregateRef, envelope: Record<string, unknown>): Promise<number> =>
      (await js.publish(log.subjectOf(subjectRef), JSON.stringify(envelope))).seq;
    const base = { ...created(attacker, 'forged') };
    const sequences = {
      SUBJECT_TENANT_MISMATCH: await forge(victim, { ...base, id: uuidv7(), aggregateId: victim.aggregateId }),
      SUBJECT_AGGREGATE_MISMATCH: await forge(victim, { ...base, id: uuidv7(), tenant: victim.tenant }),
      EVENT_TYPE_NOT_OF_AGGREGATE: await forge(victim, {
        ...base,
        id: uuidv7(),
        ...victim,
        type: 'apitoken.created',
        data: { name: 'x', scopes: ['admin'], salt: '00', hash: '00', expiresAt: null },
      }),
      EVENT_TYPE_UNKNOWN: await forge(victim, { ...base, id: uuidv7(), ...victim, type: 'organization.seized' }),
    };
    const good = await log.append(victim, await log.version(victim), [created(victim, 'genuine')]);
    await runner.waitFor(good.version);
    const rows = await db.pool.query(`SELECT id, name, events_applied FROM ${schema}.orgs WHERE id = ANY($1) ORDER BY id`, [
      [victim.aggregateId, attacker.aggregateId],
    ]);
    assert.deepEqual(
      rows.rows.map((r) => [r.id, r.name, r.events_applied]),
      [[victim.aggregateId, 'genuine', 1]],
      'only the genuine event was applied',
    );
    const dead = await db.pool.query<{ stream_seq: string; error: string }>(
      `SELECT stream_seq, error FROM ${schema}.projection_dead_letters ORDER BY stream_seq`,
    );
    const deadBySequence = new Map(dead.rows.map((r) => [Number(r.stream_seq), r.error]));
    for (const [reason, sequence] of Object.entries(sequences)) {
      assert.match(deadBySequence.get(sequence) ?? '', reason === 'EVENT_TYPE_UNKNOWN' ? /unknown event type/ : /EventRefusedError/, reason);
      assert.ok(refused.some(([seq, why]) => seq === sequence && why === reason), `${reason} reported to the observer`);
    }
    assert.match(deadBySequence.get(sequences.SUBJECT_TENANT_MISMATCH) ?? '', new RegExp(`names tenant ${attacker.tenant} but was stored on`));

    const rebuilt = await rebuildProjection({ nc, pool: db.pool, stream, projection: countingProjection, liveSchema: schema, targetSchema: 'proj_forged_rebuild' });
    assert.equal(rebuilt.throughSequence, runner.position);
    assert.equal((await compareProjection(db.pool, countingProjection, schema, 'proj_forged_rebuild')).equal, true);
  } finally {
    await runner.stop();
  }
});

test('a service cannot feed a projection its NATS user does not list: the start fails naming what to add', async () => {
  const schema = 'proj_unlisted';
  await createCountingSchema(db.pool, schema);
  const registry = await connectTestNatsAs('registry');
  try {
    const runner = new ProjectionRunner({ nc: registry, pool: db.pool, stream, schema, projection: countingProjection });
    await assert.rejects(runner.start(), /may not use consumer proj_test_orgs: add projection test\.orgs .*libs\/bus\/src\/users\.ts/);
  } finally {
    await registry.close();
  }
});

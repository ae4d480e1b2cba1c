// The audit chain across real processes: the registry and the auth service publish a record of
// every command (refusals included) to the audit stream; the auth service chains them per
// organization in PostgreSQL and anchors the head in the event log. Then the rows are tampered
// with directly in PostgreSQL, one way at a time, and verify must name what happened.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { fetchControlPlaneCredential, signDeploymentAssertion } from '@trustplane/auth-client';
import { auditStreamName } from '@trustplane/bus';
import { chain, type ChainedRecord } from '@trustplane/auth';
import { bootstrapOrganization, bootstrapToken } from '@trustplane/registry';
import {
  connectTestNats,
  connectTestNatsAs,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startServiceProcess,
  testAuthEnv,
  testNatsEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let auth: RunningService;
let registryEnv: Record<string, string>;
let org: { id: string; token: string };
let other: { id: string; token: string };

interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${registry.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function organization(name: string, scopes = ['admin']): Promise<{ id: string; token: string }> {
  const created = await bootstrapOrganization(registryEnv, name);
  const token = await bootstrapToken(registryEnv, { organizationId: created.id, name: 'test', scopes });
  await eventually(async () => (await call('GET', '/api/v1/organization', token.token)).status === 200, 20_000, 'registry token');
  await eventually(async () => (await call('GET', '/api/v1/audit', token.token)).status === 200, 20_000, 'auth token');
  return { id: created.id, token: token.token };
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_audit');
  stream = testStreamSettings('e2e_audit');
  const [registryPort, authPort] = [await freePort(), await freePort()];
  auth = await startServiceProcess('auth', testAuthEnv(db, stream, authPort, { TP_AUTH_AUDIT_ANCHOR_INTERVAL_MS: '0' }), authPort);
  registryEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(registryPort),
    TP_REGISTRY_AUTH_URL: auth.url,
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startServiceProcess('registry', registryEnv, registryPort);
  org = await organization('audited');
  other = await organization('bystander');
});

after(async () => {
  for (const service of [registry, auth]) if (service !== undefined) assert.equal(await service.stop(), 0, service.output().slice(-2000));
  await deleteTestStream(nc, auditStreamName(stream.streamName));
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

/** The organization's records as the API lists them. */
async function records(token: string, query = ''): Promise<ChainedRecord[]> {
  const answer = await call('GET', `/api/v1/audit${query}`, token);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  return answer.json.items;
}

test('every command of the registry and the auth service is recorded with who, what, when and outcome, refusals included; filters and tenancy hold', async () => {
  const started = new Date();
  assert.equal((await call('POST', '/api/v1/trust-domains', org.token, { name: 'audit.example.org', kind: 'self-hosted' })).status, 201);
  assert.equal((await call('POST', '/api/v1/trust-domains', org.token, { name: 'Not A Name' })).status, 400);
  assert.equal((await call('POST', '/api/v1/trust-domains', org.token, { name: 'audit.example.org' })).status, 409);
  const deployment = await call('POST', '/api/v1/trust-domains/audit.example.org/deployments', org.token, { name: 'east' });
  assert.equal(deployment.status, 201);
  const readOnly = await bootstrapToken(registryEnv, { organizationId: org.id, name: 'reader', scopes: ['trust-domains:read'] });
  await eventually(async () => (await call('GET', '/api/v1/trust-domains', readOnly.token)).status === 200, 20_000, 'reader token');
  assert.equal((await call('DELETE', '/api/v1/trust-domains/audit.example.org', readOnly.token)).status, 403);
  await eventually(async () => (await call('GET', '/api/v1/trust-domains/audit.example.org/deployments/east/keys', org.token)).status === 200, 20_000, 'deployment in auth');
  const key = await call('POST', '/api/v1/trust-domains/audit.example.org/deployments/east/keys', org.token);
  assert.equal(key.status, 201);
  await fetchControlPlaneCredential(registry.url, { privateKeyPem: key.json.privateKeyPem, keyId: key.json.id, deploymentId: deployment.json.id });
  const replayed = signDeploymentAssertion({ privateKeyPem: key.json.privateKeyPem, keyId: key.json.id, deploymentId: deployment.json.id, audience: 'elsewhere' });
  assert.equal((await call('POST', '/api/v1/auth/deployment-credentials', undefined, { assertion: replayed })).status, 401);
  assert.equal((await call('POST', '/api/v1/trust-domains', other.token, { name: 'bystander.example.org' })).status, 201);

  let chainNow: ChainedRecord[] = [];
  await eventually(async () => (chainNow = await records(org.token)).length >= 8, 20_000, 'eight records');
  const summary = chainNow.map((r) => `${r.service} ${r.action} ${r.status}`);
  assert.deepEqual(summary, [
    'registry POST /api/v1/trust-domains 201',
    'registry POST /api/v1/trust-domains 400',
    'registry POST /api/v1/trust-domains 409',
    'registry POST /api/v1/trust-domains/:td/deployments 201',
    'registry DELETE /api/v1/trust-domains/:td 403',
    'auth POST /api/v1/trust-domains/:td/deployments/:d/keys 201',
    'auth POST /api/v1/auth/deployment-credentials 200',
    'auth POST /api/v1/auth/deployment-credentials 401',
  ]);
  assert.deepEqual(
    chainNow.map((r) => [r.outcome, r.code]),
    [
      ['succeeded', null],
      ['refused', chainNow[1]?.code],
      ['refused', 'TRUST_DOMAIN_NAME_TAKEN'],
      ['succeeded', null],
      ['refused', 'INSUFFICIENT_SCOPE'],
      ['succeeded', null],
      ['succeeded', null],
      ['refused', 'ASSERTION_AUDIENCE_INVALID'],
    ],
  );
  assert.match(String(chainNow[1]?.code), /INVALID|VALIDATION/);
  assert.deepEqual(chainNow.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(chainNow.every((r) => r.organizationId === org.id && Date.parse(r.occurredAt) >= started.getTime() - 1000));
  assert.equal(chainNow[4]?.actor.id, readOnly.id);
  assert.deepEqual(chainNow[6]?.actor, { kind: 'deployment-key', id: key.json.id });

  assert.equal((await records(org.token, `?actor=${readOnly.id}`)).length, 1);
  assert.equal((await records(org.token, `?resource=${key.json.id}`)).length, 2);
  assert.equal((await records(org.token, `?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 0);
  assert.equal((await records(org.token, `?until=${encodeURIComponent(started.toISOString())}&since=2000-01-01T00:00:00Z`)).length, 0);
  assert.equal((await call('GET', '/api/v1/audit?actor=nobody', org.token)).status, 400);
  assert.equal((await call('GET', '/api/v1/audit', readOnly.token)).status, 403);
  // The bystander sees its own record only.
  const theirs = await records(other.token);
  assert.deepEqual(theirs.map((r) => r.resource), ['/api/v1/trust-domains']);
});

/** Copies the organization's chain aside and puts it back, so each tampering starts clean. */
async function snapshot(): Promise<() => Promise<void>> {
  await db.pool.query('CREATE TABLE IF NOT EXISTS public.audit_saved AS SELECT * FROM auth.audit_records WITH NO DATA');
  await db.pool.query('TRUNCATE public.audit_saved');
  await db.pool.query('INSERT INTO public.audit_saved SELECT * FROM auth.audit_records WHERE tenant_id = $1', [org.id]);
  return async () => {
    await db.pool.query('DELETE FROM auth.audit_records WHERE tenant_id = $1', [org.id]);
    await db.pool.query('INSERT INTO auth.audit_records SELECT * FROM public.audit_saved');
  };
}

async function verify(): Promise<{ ok: boolean; checked: number; firstBadSeq?: number; reason?: string }> {
  const answer = await call('POST', '/api/v1/audit/verify', org.token);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  return answer.json;
}

test('verify holds on the untouched chain and catches an edit, a deletion, a deleted tail, an insertion, a consistent rewrite and a reordering in PostgreSQL', async () => {
  const anchored = await call('POST', '/api/v1/audit/anchor', org.token);
  assert.equal(anchored.status, 200);
  const head = anchored.json.anchored as { seq: number; hash: string };
  assert.ok(head.seq >= 8);
  // The anchor is an event in the log (aggregate audit/<organization>).
  const clean = await verify();
  assert.equal(clean.ok, true);
  assert.equal(clean.checked, head.seq);
  const restore = await snapshot();
  const s = 'auth.audit_records';
  const cases: [string, () => Promise<unknown>, number, string][] = [
    ['edit', () => db.pool.query(`UPDATE ${s} SET outcome = 'succeeded', status = 201, code = NULL WHERE tenant_id = $1 AND seq = 3`, [org.id]), 3, 'RECORD_EDITED'],
    ['delete', () => db.pool.query(`DELETE FROM ${s} WHERE tenant_id = $1 AND seq = 5`, [org.id]), 5, 'SEQUENCE_BROKEN'],
    ['delete the tail', () => db.pool.query(`DELETE FROM ${s} WHERE tenant_id = $1 AND seq = $2`, [org.id, head.seq]), head.seq, 'TAIL_MISSING'],
    [
      'insert',
      async () => {
        await db.pool.query(`UPDATE ${s} SET seq = seq + 1000 WHERE tenant_id = $1 AND seq >= 2`, [org.id]);
        await db.pool.query(`UPDATE ${s} SET seq = seq - 999 WHERE tenant_id = $1 AND seq >= 1000`, [org.id]);
        const first = (await records(org.token, '?limit=1'))[0]!;
        const forged = chain(first, { ...withoutLink(first), id: '0190a000-0000-7000-8000-0000000000ff', resource: '/forged' });
        await insert(forged);
      },
      3,
      'LINK_BROKEN',
    ],
    [
      'insert and rewrite every hash after it',
      async () => {
        const all = await records(org.token, '?limit=1000');
        await db.pool.query(`DELETE FROM ${s} WHERE tenant_id = $1 AND seq >= 2`, [org.id]);
        let previous = all[0]!;
        const forged = chain(previous, { ...withoutLink(previous), id: '0190a000-0000-7000-8000-0000000000fe', resource: '/forged' });
        await insert(forged);
        previous = forged;
        for (const record of all.slice(1)) {
          previous = chain(previous, withoutLink(record));
          await insert(previous);
        }
      },
      head.seq,
      'ANCHOR_MISMATCH',
    ],
    [
      'reorder',
      async () => {
        await db.pool.query(`UPDATE ${s} SET seq = -1 WHERE tenant_id = $1 AND seq = 2`, [org.id]);
        await db.pool.query(`UPDATE ${s} SET seq = 2 WHERE tenant_id = $1 AND seq = 3`, [org.id]);
        await db.pool.query(`UPDATE ${s} SET seq = 3 WHERE tenant_id = $1 AND seq = -1`, [org.id]);
      },
      2,
      'LINK_BROKEN',
    ],
  ];
  for (const [what, tamper, seq, reason] of cases) {
    await tamper();
    const verdict = await verify();
    assert.equal(verdict.ok, false, `${what} went unnoticed`);
    assert.equal(verdict.reason, reason, what);
    assert.equal(verdict.firstBadSeq, seq, what);
    await restore();
    assert.equal((await verify()).ok, true, `restored after ${what}`);
  }
});

function withoutLink(record: ChainedRecord): Omit<ChainedRecord, 'seq' | 'prevHash' | 'hash'> {
  return {
    id: record.id,
    service: record.service,
    organizationId: record.organizationId,
    actor: record.actor,
    action: record.action,
    resource: record.resource,
    outcome: record.outcome,
    status: record.status,
    code: record.code,
    occurredAt: record.occurredAt,
  };
}

async function insert(record: ChainedRecord): Promise<void> {
  await db.pool.query(
    `INSERT INTO auth.audit_records (tenant_id, seq, record_id, service, actor_kind, actor_id, action, resource, outcome, status, code, occurred_at, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [record.organizationId, record.seq, record.id, record.service, record.actor.kind, record.actor.id, record.action, record.resource, record.outcome, record.status, record.code, record.occurredAt, record.prevHash, record.hash],
  );
}

test('the audit stream is a boundary too: a redelivered record is chained once; a record on another service\'s or organization\'s subject is refused; the registry cannot publish as auth', async () => {
  const before = (await records(org.token, '?limit=1000')).length;
  const registryNc = await connectTestNatsAs('registry');
  try {
    const js = jetstream(registryNc);
    const record = {
      id: '0190a000-0000-7000-8000-00000000a001',
      service: 'registry',
      organizationId: org.id,
      actor: { kind: 'token', id: 'tok-0000000001' },
      action: 'POST /api/v1/trust-domains',
      resource: '/api/v1/trust-domains',
      outcome: 'succeeded',
      status: 201,
      code: null,
      occurredAt: new Date().toISOString(),
    };
    const subject = `${stream.subjectPrefix}.audit.registry.${org.id}`;
    // The same record twice (as after a crash between publish and ack), under two message ids.
    await js.publish(subject, JSON.stringify(record), { msgID: 'first-delivery' });
    await js.publish(subject, JSON.stringify(record), { msgID: 'second-delivery' });
    // Claims to come from auth, and names another organization than its subject: both refused.
    await js.publish(subject, JSON.stringify({ ...record, id: '0190a000-0000-7000-8000-00000000a002', service: 'auth' }), { msgID: 'forged-service' });
    await js.publish(subject, JSON.stringify({ ...record, id: '0190a000-0000-7000-8000-00000000a003', organizationId: other.id }), { msgID: 'forged-org' });
    await js.publish(`${stream.subjectPrefix}.audit.registry.${other.id}`, JSON.stringify({ ...record, id: '0190a000-0000-7000-8000-00000000a004' }), { msgID: 'wrong-subject' });
    await js.publish(subject, '{"not":"a record"}', { msgID: 'garbage' });
    // A marker after them: once it is chained, everything before it was handled.
    const marker = { ...record, id: '0190a000-0000-7000-8000-00000000a005', resource: '/marker' };
    await js.publish(subject, JSON.stringify(marker), { msgID: 'marker' });
    const impersonation = await js.publish(`${stream.subjectPrefix}.audit.auth.${org.id}`, JSON.stringify({ ...record, service: 'auth' }), { msgID: 'as-auth', timeout: 2000 }).then(
      () => 'stored',
      () => 'refused',
    );
    assert.equal(impersonation, 'refused');
  } finally {
    await registryNc.close();
  }
  let after: ChainedRecord[] = [];
  await eventually(async () => (after = await records(org.token, '?limit=1000')).some((r) => r.resource === '/marker'), 20_000, 'marker chained');
  const added = after.slice(before);
  assert.deepEqual(added.map((r) => r.id), ['0190a000-0000-7000-8000-00000000a001', '0190a000-0000-7000-8000-00000000a005']);
  assert.equal((await records(other.token)).some((r) => r.id.startsWith('0190a000-0000-7000-8000-00000000a0')), false);
  assert.equal((await verify()).ok, true);
});

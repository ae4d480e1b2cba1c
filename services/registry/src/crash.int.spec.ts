// Crashes at the worst moment, with real registry processes: a registry SIGKILLed right after it
// committed a write and before it answered. The client's retry with the same Idempotency-Key
// finds what the dead process committed and never creates a second resource (a cluster whose
// private key was lost is 409 SECRET_SHOWN_ONCE, not CLUSTER_NAME_TAKEN); a claim the dead
// process held lapses; and what a crash left half-done without a retry (a reserved name whose
// trust domain never appeared, a managed trust domain without its deployment, a trust domain
// deleted with only some of its entries) is finished by the reconciler, so the name can be used
// again and no entry outlives its trust domain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { EventLog } from '@trustplane/eventstore';
import { decodeEvents, type DomainEnvelope } from '@trustplane/events';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  freePort,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { bootstrapOrganization, bootstrapToken } from './bootstrap.js';
import { call, waitForToken, type ApiResponse } from './testing/harness.js';

let db: TestDatabase;
let stream: TestStream;
let nc: NatsConnection;
let log: EventLog;
let env: Record<string, string>;
let url: string;
let port: number;
let token: string;
let registry: RunningService | undefined;

/** Starts the normal registry (main.js), with `extraEnv` on top of the test's settings. */
async function startRegistryProcess(extraEnv: Record<string, string> = {}): Promise<void> {
  registry = await startServiceProcess('registry', { ...env, ...extraEnv }, port);
}

async function stopRegistryProcess(): Promise<void> {
  await registry?.stop();
  registry = undefined;
}

/** Starts a registry that SIGKILLs itself right after committing an event of `eventType`. */
async function startCrashingRegistry(eventType: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(__dirname, 'testing', 'crash-after-append.js'), eventType], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`crashing registry exited early: ${output}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`crashing registry never became ready: ${output}`);
}

/** Sends `path` to a registry that dies after committing `eventType`; asserts it died without answering. */
async function crashDuring(eventType: string, path: string, body: unknown, key?: string, method = 'POST'): Promise<void> {
  const child = await startCrashingRegistry(eventType);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const answer = await call(url, method, path, { token, ...(body === undefined ? {} : { body }), ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }) }).then(
    (response) => response,
    () => undefined,
  );
  assert.equal(answer, undefined, `the request was answered: ${JSON.stringify(answer?.json)}`);
  assert.equal(await exited, 'SIGKILL');
}

/** Repeats a request until it is no longer answered 409 IN_PROGRESS (while the dead request's claim holds). */
async function retryWhileInProgress(path: string, body: unknown, key: string): Promise<{ answer: ApiResponse }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const answer = await call(url, 'POST', path, { token, body, headers: { 'idempotency-key': key } });
    if (answer.json?.code !== 'IDEMPOTENCY_REQUEST_IN_PROGRESS') return { answer };
    assert.ok(Number(answer.headers.get('retry-after')) >= 1, 'Retry-After on IN_PROGRESS');
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the claim never lapsed');
}

async function eventsOf(type: string): Promise<DomainEnvelope[]> {
  const found: DomainEnvelope[] = [];
  const last = await log.lastSequence();
  const jsm = await jetstreamManager(nc);
  for (let seq = 1; seq <= last; seq++) {
    const message = await jsm.streams.getMessage(stream.streamName, { seq });
    for (const event of message === null ? [] : decodeEvents(message.data)) if (event.type === type) found.push(event);
  }
  return found;
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('crash');
  stream = testStreamSettings('crash');
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(port),
    TP_LOG_LEVEL: 'warn',
    TP_REGISTRY_IDEMPOTENCY_CLAIM_MS: '1500',
    TP_REGISTRY_RECONCILE_GRACE_MS: '1500',
    TP_REGISTRY_RECONCILE_INTERVAL_MS: '250',
  };
  await startRegistryProcess();
  log = await EventLog.open(nc, stream);
  const organization = await bootstrapOrganization(env, 'Crash');
  token = (await bootstrapToken(env, { organizationId: organization.id, name: 'test', scopes: ['admin'] })).token;
  await waitForToken(url, token);
  assert.equal((await call(url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'base.example' } })).status, 201);
  await stopRegistryProcess();
});

after(async () => {
  await stopRegistryProcess();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('killed after the trust domain is committed: the retry with the same key answers it, created once', async () => {
  await crashDuring('trustdomain.created', '/api/v1/trust-domains', { name: 'crash.example' }, 'crash-td');
  const left = await db.pool.query(`SELECT status, claimed_until FROM registry.idempotency_keys WHERE key = 'crash-td'`);
  assert.equal(left.rows[0]?.status, null, 'the dead request left its claim, without an outcome');
  await startRegistryProcess();
  try {
    const { answer } = await retryWhileInProgress('/api/v1/trust-domains', { name: 'crash.example' }, 'crash-td');
    assert.equal(answer.status, 201, JSON.stringify(answer.json));
    const created = (await eventsOf('trustdomain.created')).filter((e) => (e.data as { name: string }).name === 'crash.example');
    assert.equal(created.length, 1, 'one trust domain');
    assert.equal(answer.json.id, created[0]?.aggregateId);
    assert.equal(answer.json.deployments, 1, 'the retry completed the managed deployment');
    const deployments = (await eventsOf('deployment.created')).filter((e) => (e.data as { trustDomainId: string }).trustDomainId === answer.json.id);
    assert.equal(deployments.length, 1, 'one deployment');
  } finally {
    await stopRegistryProcess();
  }
});

test('killed after a cluster is committed: the retry is 409 SECRET_SHOWN_ONCE for that cluster, never a second one', async () => {
  const path = '/api/v1/trust-domains/base.example/clusters';
  await crashDuring('cluster.created', path, { name: 'prod', platform: 'linux' }, 'crash-cluster');
  await startRegistryProcess();
  try {
    const { answer } = await retryWhileInProgress(path, { name: 'prod', platform: 'linux' }, 'crash-cluster');
    assert.equal(answer.status, 409, JSON.stringify(answer.json));
    assert.equal(answer.json.code, 'SECRET_SHOWN_ONCE');
    const clusters = await eventsOf('cluster.created');
    assert.equal(clusters.length, 1, 'one cluster');
    assert.equal(answer.json.resource.id, clusters[0]?.aggregateId);
    assert.equal(answer.json.resource.clusterKey, undefined);
    const entry = { spiffeId: 'spiffe://base.example/db', parentId: 'spiffe://base.example/agent/prod/n1', selectors: ['unix:uid:5'] };
    await stopRegistryProcess();
    await crashDuring('entry.created', '/api/v1/trust-domains/base.example/entries', entry, 'crash-entry');
    await startRegistryProcess();
    const retried = await retryWhileInProgress('/api/v1/trust-domains/base.example/entries', entry, 'crash-entry');
    assert.equal(retried.answer.status, 201);
    const entries = await eventsOf('entry.created');
    assert.equal(entries.length, 1, 'one entry');
    assert.equal(retried.answer.json.id, entries[0]?.aggregateId);
  } finally {
    await stopRegistryProcess();
  }
});

test('killed between reserving a name and creating the trust domain: the reconciler releases the name, which can be used again', async () => {
  await crashDuring('trustdomainname.reserved', '/api/v1/trust-domains', { name: 'orphan.example' });
  const [reservation] = (await eventsOf('trustdomainname.reserved')).filter((e) => (e.data as { name: string }).name === 'orphan.example');
  assert.ok(reservation, 'the name was reserved before the crash');
  const orphanId = (reservation.data as { trustDomainId: string }).trustDomainId;
  await startRegistryProcess();
  try {
    assert.equal((await call(url, 'GET', '/api/v1/trust-domains/orphan.example', { token })).status, 404);
    const created = await until('the name is free again', async () => {
      const answer = await call(url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'orphan.example' } });
      if (answer.status === 201) return answer;
      assert.equal(answer.json.code, 'TRUST_DOMAIN_NAME_TAKEN', JSON.stringify(answer.json));
      return undefined;
    });
    assert.notEqual(created.json.id, orphanId);
    const abandoned = (await eventsOf('trustdomain.deleted')).filter((e) => e.aggregateId === orphanId);
    assert.equal(abandoned.length, 1, 'the orphaned id was closed');
    assert.equal(abandoned[0]?.actor.kind, 'system');
    const released = (await eventsOf('trustdomainname.released')).filter((e) => (e.data as { trustDomainId: string }).trustDomainId === orphanId);
    assert.equal(released.length, 1);
  } finally {
    await stopRegistryProcess();
  }
});

test('killed between creating a managed trust domain and its deployment: the reconciler creates the deployment', async () => {
  await crashDuring('trustdomain.created', '/api/v1/trust-domains', { name: 'half.example' });
  await startRegistryProcess();
  try {
    const shown = await until('the deployment exists', async () => {
      const answer = await call(url, 'GET', '/api/v1/trust-domains/half.example', { token });
      return answer.status === 200 && answer.json.deployments === 1 ? answer : undefined;
    });
    const deployments = (await eventsOf('deployment.created')).filter((e) => (e.data as { trustDomainId: string }).trustDomainId === shown.json.id);
    assert.equal(deployments.length, 1);
    assert.equal(deployments[0]?.actor.id, 'registry-reconciler');
  } finally {
    await stopRegistryProcess();
  }
});

test('killed while deleting a trust domain with entries: none of them is visible from then on, the reconciler deletes the rest, each once', async () => {
  await startRegistryProcess();
  const entryIds: string[] = [];
  try {
    assert.equal((await call(url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'cascade.example' } })).status, 201);
    for (let i = 0; i < 24; i++) {
      const body = { spiffeId: `spiffe://cascade.example/w${i}`, parentId: 'spiffe://cascade.example/agent/c/n', selectors: [`unix:uid:${1000 + i}`] };
      const created = await call(url, 'POST', '/api/v1/trust-domains/cascade.example/entries', { token, body });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      entryIds.push(created.json.id);
    }
  } finally {
    await stopRegistryProcess();
  }
  await crashDuring('entry.deleted', '/api/v1/trust-domains/cascade.example', undefined, undefined, 'DELETE');
  const [deleted] = (await eventsOf('trustdomain.deleted')).filter((e) => (e.data as { name: string }).name === 'cascade.example');
  assert.ok(deleted, 'the trust domain was deleted before the crash');
  const removedBeforeCrash = (await eventsOf('entry.deleted')).filter((e) => entryIds.includes(e.aggregateId)).length;
  assert.ok(removedBeforeCrash >= 1 && removedBeforeCrash < entryIds.length, `the crash left some entries live in the log (${removedBeforeCrash} of ${entryIds.length} deleted)`);

  // First a registry whose reconciler does not run: the log still holds live entries of the
  // deleted trust domain, and none of them is visible.
  await startRegistryProcess({ TP_REGISTRY_RECONCILE_INTERVAL_MS: '3600000' });
  try {
    await until('the trust domain is gone', async () => ((await call(url, 'GET', '/api/v1/trust-domains/cascade.example', { token })).status === 404 ? true : undefined));
    for (const id of entryIds) {
      const shown = await call(url, 'GET', `/api/v1/entries/${id}`, { token });
      assert.equal(shown.status, 404, `entry ${id}: ${JSON.stringify(shown.json)}`);
      assert.equal(shown.json.code, 'ENTRY_NOT_FOUND');
    }
    const stillLive = entryIds.length - (await eventsOf('entry.deleted')).filter((e) => entryIds.includes(e.aggregateId)).length;
    assert.ok(stillLive > 0, 'entries the log still holds live are invisible all the same');
    const patched = await call(url, 'PATCH', `/api/v1/entries/${entryIds[entryIds.length - 1] ?? ''}`, { token, body: { revision: 1, selectors: ['unix:uid:1'] } });
    assert.equal(patched.status, 404, 'and cannot be changed');
  } finally {
    await stopRegistryProcess();
  }
  await startRegistryProcess();
  try {
    const removed = await until('the reconciler deleted every entry', async () => {
      const events = (await eventsOf('entry.deleted')).filter((e) => entryIds.includes(e.aggregateId));
      return events.length >= entryIds.length ? events : undefined;
    });
    assert.deepEqual([...new Set(removed.map((e) => e.aggregateId))].sort(), [...entryIds].sort());
    assert.equal(removed.length, entryIds.length, 'each entry deleted exactly once');
    assert.ok(removed.some((e) => e.actor.id === 'registry-reconciler'), 'the reconciler finished the job');
    const released = await until('the name is released', async () => {
      const events = (await eventsOf('trustdomainname.released')).filter((e) => (e.data as { trustDomainId: string }).trustDomainId === deleted.aggregateId);
      return events.length > 0 ? events : undefined;
    });
    assert.equal(released.length, 1);
    assert.equal((await call(url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'cascade.example' } })).status, 201, 'the name can be used again');
  } finally {
    await stopRegistryProcess();
  }
});

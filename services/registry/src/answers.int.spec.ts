// The answer tells the truth. A write whose events are committed is never reported as failed: when
// the read model is held back (its checkpoint row locked, as a stalled projection would), the
// answer is 202 with the resource id and a Location, and the resource shows up once the read model
// moves on. Infrastructure failures are 503 + Retry-After + problem+json: with NATS gone (a private
// nats-server, SIGKILLed) at once rather than after the JetStream timeout, and with the read
// database unreachable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, startPrivateNats, testStreamSettings, type PrivateNats, type TestDatabase } from '@trustplane/testkit';
import { bootstrapOrganization, bootstrapToken } from './bootstrap.js';
import { loadRegistryConfig } from './config.js';
import { startRegistry, type RegistryServer } from './server.js';
import { call, startRegistryHarness, waitForToken, type ApiResponse, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let token: string;

before(async () => {
  h = await startRegistryHarness('answers', { TP_REGISTRY_PROJECTION_WAIT_MS: '1000' });
  token = (await h.organization('Answers')).token;
});
after(async () => h.close());

const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(h.url, method, path, { token, headers, ...(body === undefined ? {} : { body }) });

/** Holds the registry.model checkpoint row locked, as a stalled projection would, while `work` runs. */
async function withReadModelHeld<T>(work: () => Promise<T>): Promise<T> {
  const lock = await h.db.pool.connect();
  try {
    await lock.query('BEGIN');
    await lock.query(`SELECT * FROM registry.projection_checkpoints WHERE projection = 'registry.model' FOR UPDATE`);
    return await work();
  } finally {
    await lock.query('ROLLBACK');
    lock.release();
  }
}

async function eventuallyOk(path: string): Promise<ApiResponse> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await api('GET', path);
    if (response.status === 200) return response;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} never became visible`);
}

test('committed writes the read model does not show yet are 202 with a Location, never 5xx', async () => {
  const td = await api('POST', '/api/v1/trust-domains', { name: 'visible.example' });
  assert.ok(td.status === 201 || td.status === 202, JSON.stringify(td.json));
  await eventuallyOk(`/api/v1/trust-domains/${td.json.id}`);
  const answers = await withReadModelHeld(async () => ({
    trustDomain: await api('POST', '/api/v1/trust-domains', { name: 'held.example' }, { 'idempotency-key': 'held-td' }),
    entry: await api('POST', '/api/v1/trust-domains/visible.example/entries', {
      spiffeId: 'spiffe://visible.example/held',
      parentId: 'spiffe://visible.example/agent/p/n',
      selectors: ['unix:uid:7'],
    }),
    repeat: await api('POST', '/api/v1/trust-domains', { name: 'held.example' }, { 'idempotency-key': 'held-td' }),
  }));
  for (const [name, answer] of Object.entries(answers)) {
    assert.equal(answer.status, 202, `${name}: ${JSON.stringify(answer.json)}`);
    assert.equal(answer.json.status, 'accepted');
    assert.equal(answer.headers.get('location'), answer.json.location);
  }
  assert.match(answers.trustDomain.json.id, /^td-[0-9a-z]{10}$/);
  assert.equal(answers.trustDomain.headers.get('location'), `/api/v1/trust-domains/${answers.trustDomain.json.id}`);
  assert.equal(answers.repeat.json.id, answers.trustDomain.json.id, 'the repeat (same key) found the same trust domain');
  assert.equal(answers.entry.headers.get('location'), `/api/v1/entries/${answers.entry.json.id}`);
  // Once the read model moves on, the resources are there, created once.
  const shown = await eventuallyOk(answers.trustDomain.json.location);
  assert.equal(shown.json.name, 'held.example');
  assert.equal(shown.json.deployments, 1);
  await eventuallyOk(answers.entry.json.location);
  const again = await api('POST', '/api/v1/trust-domains', { name: 'held.example' }, { 'idempotency-key': 'held-td' });
  assert.equal(again.status, 201);
  assert.equal(again.json.id, answers.trustDomain.json.id);
  const list = await api('GET', '/api/v1/trust-domains');
  assert.equal(list.json.items.filter((t: { name: string }) => t.name === 'held.example').length, 1);
});

test('deletes and updates held back by the read model are 202 as well', async () => {
  const entry = await api('POST', '/api/v1/trust-domains/visible.example/entries', {
    spiffeId: 'spiffe://visible.example/doomed',
    parentId: 'spiffe://visible.example/agent/p/n',
    selectors: ['unix:uid:8'],
  });
  await eventuallyOk(`/api/v1/entries/${entry.json.id}`);
  const answers = await withReadModelHeld(async () => ({
    update: await api('PATCH', `/api/v1/entries/${entry.json.id}`, { revision: 1, hint: 'held' }),
    organization: await api('PATCH', '/api/v1/organization', { name: 'Answers Renamed' }),
  }));
  assert.equal(answers.update.status, 202);
  // Every read model must reach a write before it is answered 200 (the model one is held here).
  assert.equal(answers.organization.status, 202);
  assert.equal(answers.organization.headers.get('location'), '/api/v1/organization');
  const deleted = await withReadModelHeld(() => api('DELETE', `/api/v1/entries/${entry.json.id}`));
  assert.equal(deleted.status, 202);
  assert.equal(deleted.json.id, entry.json.id);
  assert.equal(deleted.headers.get('location'), null);
});

test('NATS down: writes are 503 EVENT_LOG_UNAVAILABLE with Retry-After at once; reads still work; writes resume with NATS', async () => {
  const nats: PrivateNats = await startPrivateNats();
  const db: TestDatabase = await createTestDatabase('answers_nats');
  const stream = testStreamSettings('answers-nats');
  const env = {
    ...nats.envFor('registry'),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: '0',
    TP_LOG_LEVEL: 'silent',
  };
  let server: RegistryServer | undefined;
  try {
    server = await startRegistry(loadRegistryConfig(env));
    const organization = await bootstrapOrganization(env, 'Outage');
    const issued = await bootstrapToken(env, { organizationId: organization.id, name: 'test', scopes: ['admin'] });
    await waitForToken(server.url, issued.token);
    const post = (name: string) => call(server?.url ?? '', 'POST', '/api/v1/trust-domains', { token: issued.token, body: { name } });
    assert.equal((await post('before.example')).status, 201);

    await nats.kill();
    let down: ApiResponse | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      down = await post('during.example');
      if (down.status === 503) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = Date.now();
    down = await post('during.example');
    const elapsedMs = Date.now() - started;
    assert.equal(down.status, 503, JSON.stringify(down.json));
    assert.equal(down.json.code, 'EVENT_LOG_UNAVAILABLE');
    assert.match(down.type, /application\/problem\+json/);
    assert.ok(Number(down.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.ok(elapsedMs < 1000, `answered in ${elapsedMs} ms, not after the JetStream timeout`);
    const read = await call(server.url, 'GET', '/api/v1/trust-domains', { token: issued.token });
    assert.equal(read.status, 200, 'reads come from PostgreSQL');
    // A signer request is not sent into a dead connection to wait for its timeout either.
    const bundleStarted = Date.now();
    const bundle = await call(server.url, 'GET', '/api/v1/trust-domains/before.example/bundle', { token: issued.token });
    assert.equal(bundle.status, 503, JSON.stringify(bundle.json));
    assert.equal(bundle.json.code, 'SIGNER_UNAVAILABLE');
    assert.ok(Number(bundle.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.ok(Date.now() - bundleStarted < 1000, 'at once');
    const counted = (await (await fetch(`${server.url}/metrics`)).text()).split('\n').find((l) => l.startsWith('tp_registry_signer_call_failures_total{') && l.includes('operation="bundle"') && l.includes('reason="disconnected"'));
    assert.ok(counted !== undefined && Number(counted.slice(counted.lastIndexOf(' ') + 1)) >= 1, 'the refused signer call is counted with its cause');
    const readiness = await fetch(`${server.url}/readyz`);
    assert.equal(readiness.status, 503);
    assert.match(((await readiness.json()) as { checks: { nats: string } }).checks.nats, /disconnected from NATS for [\d.]+ s/);

    await nats.restart();
    let resumed: ApiResponse | undefined;
    for (let attempt = 0; attempt < 150; attempt++) {
      resumed = await post('after.example');
      if (resumed.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(resumed?.status, 201, JSON.stringify(resumed?.json));
  } finally {
    await server?.close();
    await nats.stop();
    await db.drop();
  }
});

test('the read database unreachable: 503 with Retry-After, not 500', async () => {
  const unreachable = await startRegistryHarness('answers-db', { TP_REGISTRY_API_DATABASE_URL: 'postgres://tp_registry_api@127.0.0.1:1/nowhere' });
  try {
    const organization = await bootstrapOrganization(unreachable.env, 'NoDb');
    const issued = await bootstrapToken(unreachable.env, { organizationId: organization.id, name: 'test', scopes: ['admin'] });
    let response: ApiResponse | undefined;
    for (let attempt = 0; attempt < 200; attempt++) {
      response = await call(unreachable.url, 'GET', '/api/v1/trust-domains', { token: issued.token });
      if (response.status !== 401) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(response?.status, 503, JSON.stringify(response?.json));
    assert.match(response?.type ?? '', /application\/problem\+json/);
    assert.ok(Number(response?.headers.get('retry-after')) >= 1);
    assert.equal(response?.json.detail.includes('127.0.0.1'), false, 'no internals in the answer');
  } finally {
    await unreachable.close();
  }
});

// /readyz means "can serve writes now", on real registry processes: a read model held back past
// TP_READY_MAX_LAG_SECONDS makes it 503 with the lag in the body (and in /metrics); a full
// JetStream store (a private nats-server with a tiny max_file_store) makes writes 503 with
// Retry-After at once and /readyz 503 naming the failing appends; both recover by themselves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { jetstreamManager, jetstream, StorageType } from '@nats-io/jetstream';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  freePort,
  startPrivateNats,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  type PrivateNats,
  type RunningService,
  type TestDatabase,
} from '@trustplane/testkit';
import { bootstrapOrganization, bootstrapToken } from './bootstrap.js';
import { call } from './testing/harness.js';

interface Readiness {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

async function readyz(url: string): Promise<Readiness> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: await response.json() };
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

/** The value of one sample of a metric in Prometheus text, or undefined when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function startRegistryOn(env: Record<string, string>): Promise<{ registry: RunningService; token: string }> {
  const port = await freePort();
  const registry = await startServiceProcess('registry', { ...env, TP_REGISTRY_PORT: String(port) }, port);
  const organization = await bootstrapOrganization(env, 'Ready');
  const token = (await bootstrapToken(env, { organizationId: organization.id, name: 'test', scopes: ['admin'] })).token;
  await until('the token works', async () => ((await call(registry.url, 'GET', '/api/v1/organization', { token })).status === 200 ? true : undefined));
  return { registry, token };
}

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('readiness');
});

after(async () => {
  await db.drop();
});

test('a read model held back longer than TP_READY_MAX_LAG_SECONDS: /readyz 503 with the lag, 200 again once it catches up', async () => {
  const stream = testStreamSettings('readiness');
  const env = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_LOG_LEVEL: 'warn',
    TP_READY_MAX_LAG_SECONDS: '1',
    TP_REGISTRY_PROJECTION_WAIT_MS: '500',
  };
  const { registry, token } = await startRegistryOn(env);
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    assert.equal((await readyz(registry.url)).status, 200);
    await holder.query('BEGIN');
    await holder.query(`SELECT stream_seq FROM registry.projection_checkpoints WHERE projection = 'registry.model' FOR UPDATE`);
    const accepted = await call(registry.url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'stalled.example' } });
    assert.equal(accepted.status, 202, 'committed, not visible yet');
    const stalled = await until('readyz reports the lag', async () => {
      const answer = await readyz(registry.url);
      return answer.status === 503 ? answer : undefined;
    }, 15_000);
    assert.equal(stalled.body.status, 'not ready');
    assert.match(stalled.body.checks.projections, /registry\.model is \d+ events \([\d.]+ s\) behind the event log \(limit 1 s\)/);
    const lag = stalled.body.projections['registry.model'];
    assert.ok(lag.behindSequences >= 1 && lag.behindSeconds >= 1, JSON.stringify(lag));
    assert.equal(stalled.body.checks.nats, 'ok');
    assert.equal(stalled.body.checks.postgres, 'ok');
    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    assert.ok((sample(metrics, 'tp_projection_lag_sequences', { projection: 'registry.model' }) ?? 0) >= 1, 'lag in sequences exported');
    assert.ok((sample(metrics, 'tp_projection_lag_seconds', { projection: 'registry.model' }) ?? 0) > 0, 'lag in seconds exported');
    assert.ok(sample(metrics, 'tp_db_pool_connections', { pool: 'main', state: 'total' }) !== undefined, 'pool usage exported');
    assert.ok(sample(metrics, 'tp_db_pool_connections', { pool: 'api', state: 'waiting' }) !== undefined, 'the API pool too');
    assert.equal(sample(metrics, 'tp_projection_dead_letters', { projection: 'registry.model' }), 0);

    await holder.query('ROLLBACK');
    await until('ready again', async () => ((await readyz(registry.url)).status === 200 ? true : undefined), 15_000);
    assert.equal((await call(registry.url, 'GET', '/api/v1/trust-domains/stalled.example', { token })).status, 200);
  } finally {
    await holder.end();
    await registry.stop();
    const nc = await connectTestNats();
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
  }
});

test('a full JetStream store: writes 503 with Retry-After at once, /readyz 503 naming the failing appends; both recover once space is freed', async () => {
  const nats: PrivateNats = await startPrivateNats({ maxFileStoreBytes: 256 * 1024 });
  const fullDb = await createTestDatabase('readiness_full');
  const stream = testStreamSettings('readiness-full');
  const env = {
    ...nats.envFor('registry'),
    DATABASE_URL: fullDb.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_LOG_LEVEL: 'warn',
  };
  const admin = await nats.connect('admin');
  let registry: RunningService | undefined;
  try {
    const started = await startRegistryOn(env);
    registry = started.registry;
    const { token } = started;
    const post = (name: string) => call(started.registry.url, 'POST', '/api/v1/trust-domains', { token, body: { name } });
    assert.equal((await post('before.example')).status, 201);

    // Something else fills the server's store (another stream), as it happens in production.
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({ name: 'FILLER', subjects: ['filler.>'], storage: StorageType.File });
    const js = jetstream(admin);
    const chunk = new Uint8Array(4096);
    for (let i = 0; i < 1_000; i++) {
      const stored = await js.publish('filler.x', chunk).then(() => true, () => false);
      if (!stored) break;
    }

    const t0 = performance.now();
    const refused = await post('during.example');
    const tookMs = performance.now() - t0;
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal(refused.json.code, 'EVENT_LOG_UNAVAILABLE');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.ok(tookMs < 1_000, `answered in ${Math.round(tookMs)} ms`);
    const notReady = await readyz(started.registry.url);
    assert.equal(notReady.status, 503, JSON.stringify(notReady.body));
    assert.match(notReady.body.checks['event-log'], /appends are failing .*store_full/);
    assert.equal(notReady.body.checks.nats, 'ok', 'NATS itself is fine');
    const metrics = await (await fetch(`${started.registry.url}/metrics`)).text();
    assert.ok((sample(metrics, 'tp_event_log_append_failures_total', { reason: 'store_full' }) ?? 0) >= 1, 'append failures counted by reason');

    await jsm.streams.delete('FILLER');
    const resumed = await until('a write succeeds again', async () => {
      const answer = await post('after.example');
      return answer.status === 201 ? answer : undefined;
    });
    assert.equal(resumed.status, 201);
    assert.equal((await readyz(started.registry.url)).status, 200, 'ready again after a successful append');
  } finally {
    await registry?.stop();
    await admin.close();
    await nats.stop();
    await fullDb.drop();
  }
});

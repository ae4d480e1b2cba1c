// Shown-once secrets are shown once and stored nowhere. After a run of every secret-bearing call
// (API tokens, join tokens, cluster keys), each repeated with the same Idempotency-Key, some
// answered 202 while the read model lagged, the real secret bytes — not only PEM markers — are
// searched for in every event of the stream, every row of every table of every schema, and the
// registry's logs (at trace level). None may be found.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { findPrivateKeyMaterial } from '@trustplane/testkit';
import pino from 'pino';
import { call, startRegistryHarness, type ApiResponse, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let token: string;
let logs = '';
/** Every secret handed out, in every encoding it could be stored in. */
const needles = new Set<string>();

const post = (path: string, body: unknown, key?: string): Promise<ApiResponse> =>
  call(h.url, 'POST', path, { token, body, ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }) });

/** 201, or 202 when the read model was slow (on a loaded machine): either way the secret is in it. */
function assertCreated(response: ApiResponse): void {
  assert.ok(response.status === 201 || response.status === 202, `${response.status} ${JSON.stringify(response.json)}`);
}

/** Records an API or join token: the whole string and its secret part. */
function rememberToken(value: string): void {
  needles.add(value);
  needles.add(value.slice(-43));
}

/** Records a cluster private key: the PEM, its DER in base64, and the raw Ed25519 seed in hex, base64 and base64url. */
function rememberPrivateKey(pem: string): void {
  needles.add(pem);
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  needles.add(der.toString('base64'));
  needles.add(der.toString('hex'));
  const seed = der.subarray(der.length - 32);
  for (const encoding of ['hex', 'base64', 'base64url'] as const) needles.add(seed.toString(encoding).replace(/=+$/, ''));
}

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  h = await startRegistryHarness('secrets', { TP_REGISTRY_PROJECTION_WAIT_MS: '1000' }, { logger: pino({ level: 'trace' }, sink) });
  token = (await h.organization('Secrets')).token;
});
after(async () => h.close());

test('tokens, join tokens and cluster keys: shown once, and repeats with the same key are 409 without the secret', async () => {
  const td = await post('/api/v1/trust-domains', { name: 'secrets.example' });
  assertCreated(td);
  const clustersPath = `/api/v1/trust-domains/${td.json.id}/clusters`;

  for (const [index, key] of ['cluster-a', undefined].entries()) {
    const created = await post(clustersPath, { name: `c${index}`, platform: 'linux' }, key);
    assertCreated(created);
    rememberPrivateKey(created.json.clusterKey.privateKey);
    if (key === undefined) continue;
    const again = await post(clustersPath, { name: `c${index}`, platform: 'linux' }, key);
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'SECRET_SHOWN_ONCE');
    assert.equal(again.json.resource.id, created.json.id);
    assert.equal(again.json.resource.clusterKey, undefined);
  }
  const joinPath = `${clustersPath}/c0/join-tokens`;
  for (const key of ['join-a', 'join-b', undefined]) {
    const issued = await post(joinPath, {}, key);
    assertCreated(issued);
    rememberToken(issued.json.token);
    if (key === undefined) continue;
    const again = await post(joinPath, {}, key);
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'SECRET_SHOWN_ONCE');
    assert.equal(again.json.resource.id, issued.json.id);
    assert.equal(again.json.resource.token, undefined);
  }
  for (const key of ['token-a', 'token-b', undefined]) {
    const issued = await post('/api/v1/tokens', { name: `t-${key ?? 'none'}`, scopes: ['entries:read'] }, key);
    assertCreated(issued);
    rememberToken(issued.json.token);
    if (key === undefined) continue;
    const again = await post('/api/v1/tokens', { name: `t-${key}`, scopes: ['entries:read'] }, key);
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'SECRET_SHOWN_ONCE');
    assert.equal(again.json.resource.token, undefined);
  }
});

test('a secret answered 202 (read model held back) is delivered in that answer and withheld from every repeat', async () => {
  const lock = await h.db.pool.connect();
  try {
    await lock.query('BEGIN');
    await lock.query(`SELECT * FROM registry.projection_checkpoints WHERE projection = 'registry.model' FOR UPDATE`);
    const cluster = await post('/api/v1/trust-domains/secrets.example/clusters', { name: 'lagging', platform: 'vm' }, 'cluster-lag');
    assert.equal(cluster.status, 202);
    assert.match(cluster.headers.get('location') ?? '', /^\/api\/v1\/trust-domains\/td-[0-9a-z]{10}\/clusters\/c-[0-9a-z]{10}$/);
    rememberPrivateKey(cluster.json.clusterKey.privateKey);
    const issued = await post('/api/v1/tokens', { name: 'lagging', scopes: ['entries:read'] }, 'token-lag');
    assert.equal(issued.status, 202);
    rememberToken(issued.json.token);
    for (const [path, body, key] of [
      ['/api/v1/trust-domains/secrets.example/clusters', { name: 'lagging', platform: 'vm' }, 'cluster-lag'],
      ['/api/v1/tokens', { name: 'lagging', scopes: ['entries:read'] }, 'token-lag'],
    ] as const) {
      const again = await post(path, body, key);
      assert.equal(again.status, 409, JSON.stringify(again.json));
      assert.equal(again.json.code, 'SECRET_SHOWN_ONCE');
    }
  } finally {
    await lock.query('ROLLBACK');
    lock.release();
  }
});

test('no secret byte is in any event, any row of any table, or the logs', async () => {
  assert.ok(needles.size >= 30, `${needles.size} needles`);
  const places: Record<string, string> = { logs };
  const jsm = await jetstreamManager(h.nc);
  const last = (await jsm.streams.info(h.stream.streamName)).state.last_seq;
  for (let seq = 1; seq <= last; seq++) {
    const message = await jsm.streams.getMessage(h.stream.streamName, { seq });
    places[`event #${seq}`] = new TextDecoder().decode(message?.data);
  }
  const tables = await h.db.pool.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
  );
  assert.ok(tables.rows.some((t) => t.table_name === 'idempotency_keys'));
  for (const { table_schema, table_name } of tables.rows) {
    const rows = await h.db.pool.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM "${table_schema}"."${table_name}" t`);
    places[`${table_schema}.${table_name}`] = rows.rows.map((r) => r.row).join('\n');
  }
  const idempotencyRows = await h.db.pool.query('SELECT count(*)::int AS n FROM registry.idempotency_keys WHERE secret_withheld');
  assert.ok(idempotencyRows.rows[0].n >= 6, 'the secret-bearing requests were recorded (without their secrets)');
  // The test's logger has no redaction: a secret never handed to it cannot leak from it.
  assert.match(logs, /registry listening/, 'the registry logs were captured');
  const found: string[] = [];
  for (const [where, text] of Object.entries(places)) {
    for (const needle of needles) if (text.includes(needle)) found.push(`${where}: ${needle.slice(0, 16)}…`);
    for (const marker of findPrivateKeyMaterial(text)) found.push(`${where}: ${marker}`);
  }
  assert.deepEqual(found, []);
});

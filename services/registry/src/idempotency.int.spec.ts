// Idempotency-Key semantics with time as an input: records expire after the configured retention
// (and are purged), a claim left by a request that died lapses, a failed request leaves its key
// free for the retry, and a repeat of a keyed create whose record is gone finds the resource the
// first run created (its id derives from the key) instead of creating a second one.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { decodeEvents } from '@trustplane/events';
import type { Clock } from '@trustplane/platform';
import { Reconciler } from './reconciler/reconciler.js';
import { requestFingerprint } from './request-context.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let org: { id: string; token: string };
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
const RETENTION_SECONDS = 3600;
const CLAIM_MS = 10_000;

const post = (path: string, body: unknown, key: string) => call(h.url, 'POST', path, { token: org.token, body, headers: { 'idempotency-key': key } });
const entriesPath = '/api/v1/trust-domains/idem.example/entries';
const entry = (name: string) => ({ spiffeId: `spiffe://idem.example/${name}`, parentId: 'spiffe://idem.example/agent/p/n', selectors: ['unix:uid:1'] });

async function eventsOfType(type: string): Promise<number> {
  let count = 0;
  const last = await h.log.lastSequence();
  const jsm = await jetstreamManager(h.nc);
  for (let seq = 1; seq <= last; seq++) {
    const message = await jsm.streams.getMessage(h.stream.streamName, { seq });
    if (message !== null) count += decodeEvents(message.data).filter((event) => event.type === type).length;
  }
  return count;
}

before(async () => {
  h = await startRegistryHarness(
    'idempotency',
    { TP_REGISTRY_IDEMPOTENCY_RETENTION_SECONDS: String(RETENTION_SECONDS), TP_REGISTRY_IDEMPOTENCY_CLAIM_MS: String(CLAIM_MS) },
    { clock },
  );
  org = await h.organization('Idempotency');
  assert.equal((await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'idem.example' } })).status, 201);
});
after(async () => h.close());
beforeEach(() => {
  offsetMs = 0;
});

test('a replay within the retention returns the stored answer; after it, the repeat finds the same entry and appends nothing', async () => {
  const first = await post(entriesPath, entry('a'), 'entry-a');
  assert.equal(first.status, 201);
  const replayed = await post(entriesPath, entry('a'), 'entry-a');
  assert.equal(replayed.status, 201);
  assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(replayed.json, first.json);
  const sequence = await h.log.lastSequence();

  offsetMs = (RETENTION_SECONDS + 60) * 1000;
  const afterRetention = await post(entriesPath, entry('a'), 'entry-a');
  assert.equal(afterRetention.status, 201);
  assert.equal(afterRetention.headers.get('idempotent-replayed'), null, 'the record was forgotten: the request ran again');
  assert.equal(afterRetention.json.id, first.json.id, 'and found the entry it had created');
  assert.equal(await h.log.lastSequence(), sequence, 'nothing was appended');
  assert.equal(await eventsOfType('entry.created'), 1);

  // The repeat renewed the record; once that one is forgotten too, the same key with another
  // body is another request, with another entry.
  offsetMs += (RETENTION_SECONDS + 60) * 1000;
  const other = await post(entriesPath, entry('b'), 'entry-a');
  assert.equal(other.status, 201);
  assert.notEqual(other.json.id, first.json.id);
  offsetMs = 0;
});

test('expired records are purged by the reconciler', async () => {
  assert.equal((await post(entriesPath, entry('purge'), 'entry-purge')).status, 201);
  const count = async () => (await h.db.pool.query(`SELECT count(*)::int AS n FROM registry.idempotency_keys WHERE key = 'entry-purge'`)).rows[0].n;
  assert.equal(await count(), 1);
  const reconciler = h.server.app.get(Reconciler);
  assert.equal((await reconciler.sweep()).expiredIdempotencyKeys, 0);
  offsetMs = (RETENTION_SECONDS + 1) * 1000;
  assert.ok((await reconciler.sweep()).expiredIdempotencyKeys >= 1);
  assert.equal(await count(), 0);
  offsetMs = 0;
});

test('a claim left by a request that died lapses: 409 with Retry-After while it holds, then the repeat runs', async () => {
  const body = entry('claimed');
  const now = clock.now();
  // What a registry killed mid-request leaves behind: a claim, no outcome.
  await h.db.pool.query(
    `INSERT INTO registry.idempotency_keys (tenant_id, key, request_hash, claim_id, claimed_until, expires_at) VALUES ($1, $2, $3, 'dead', $4, $5)`,
    [org.id, 'entry-claimed', requestFingerprint('POST', entriesPath, body), new Date(now.getTime() + CLAIM_MS), new Date(now.getTime() + RETENTION_SECONDS * 1000)],
  );
  const busy = await post(entriesPath, body, 'entry-claimed');
  assert.equal(busy.status, 409);
  assert.equal(busy.json.code, 'IDEMPOTENCY_REQUEST_IN_PROGRESS');
  const retryAfter = Number(busy.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= CLAIM_MS / 1000, `Retry-After ${retryAfter}`);
  assert.equal((await post(entriesPath, entry('other'), 'entry-claimed')).status, 422, 'another body under the same key');
  offsetMs = CLAIM_MS + 1000;
  const ran = await post(entriesPath, body, 'entry-claimed');
  assert.equal(ran.status, 201);
  assert.equal((await post(entriesPath, body, 'entry-claimed')).headers.get('idempotent-replayed'), 'true');
  offsetMs = 0;
});

test('a refused request frees its key: the retry runs again instead of waiting for the claim', async () => {
  const taken = { name: 'idem.example' };
  const refused = await post('/api/v1/trust-domains', taken, 'td-taken');
  assert.equal(refused.status, 409);
  assert.equal(refused.json.code, 'TRUST_DOMAIN_NAME_TAKEN');
  const again = await post('/api/v1/trust-domains', taken, 'td-taken');
  assert.equal(again.status, 409);
  assert.equal(again.json.code, 'TRUST_DOMAIN_NAME_TAKEN');
});

test('records are tenant data: the API role sees and writes only its tenant\'s', async () => {
  const other = await h.organization('Other');
  assert.equal((await call(h.url, 'POST', '/api/v1/trust-domains', { token: other.token, body: { name: 'other.example' }, headers: { 'idempotency-key': 'entry-a' } })).status, 201);
  const { rows } = await h.db.pool.query<{ tenant_id: string }>(`SELECT tenant_id FROM registry.idempotency_keys WHERE key = 'entry-a'`);
  assert.deepEqual(rows.map((r) => r.tenant_id).sort(), [org.id, other.id].sort(), 'the same key in two organizations is two records');
  const policies = await h.db.pool.query(`SELECT relrowsecurity FROM pg_class WHERE oid = 'registry.idempotency_keys'::regclass`);
  assert.equal(policies.rows[0].relrowsecurity, true);
});

// SVID issuance and rotation with the signer's real BatchSignX509Svids: keys generated here,
// SVIDs for due entries only, half-life rotation driven by the clock, re-signing after a taint,
// a refused entry retried later, and an unreachable signer counted and retried.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { agentApi } from '@trustplane/proto';
import { eventually } from '@trustplane/testkit';
import { startTestSigner, type TestSigner } from '../testing/signer.js';
import { attestNode } from './attestation.js';
import { readBundleUpdate } from './bundle-state.js';
import { EntrySync } from './entry-sync.js';
import { CALL_DEADLINE_MS, unaryCall } from './signer-connection.js';
import { SvidCache, type BatchSigner } from './svid-cache.js';

let signer: TestSigner;
let sync: EntrySync;
let entries: agentApi.Entry[] = [];
let latestBundles: agentApi.StreamBundlesResponse | undefined;
let sign: BatchSigner;

before(async () => {
  signer = await startTestSigner('agent_svids', 'svids.example');
  const state = await attestNode(await signer.joinTokenSettings('node-c'), Date.now());
  sync = new EntrySync(
    { serverAddress: signer.serverAddress, trustDomainId: signer.trustDomainId, trustDomain: signer.trustDomain },
    () => state,
    { onEntries: (m) => (entries = m.entries), onBundles: (m) => (latestBundles = m), onConnected: () => undefined },
    signer.logger,
  );
  sync.freshlyAttested(10_000);
  sync.connect();
  await eventually(() => sync.connected, 15_000, 'connected');
  sign = (params) => {
    const client = sync.client ?? assert.fail('not connected');
    return unaryCall<agentApi.BatchSignX509SvidsResponse>((cb) =>
      client.batchSignX509Svids({ params }, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, cb),
    );
  };
  await signer.createEntry('/svids/a', signer.agentId('node-c'), ['unix:uid:1'], 120);
  await signer.createEntry('/svids/b', signer.agentId('node-c'), ['unix:uid:2']);
  await eventually(() => entries.length === 2, 10_000, 'entries pushed');
});

after(async () => {
  sync.stop();
  await signer.close();
});

test('due entries get SVIDs for keys generated here; rotation at half-life follows the clock', async () => {
  let now = Date.now();
  const stats = { svidsSigned: 0, signFailures: 0 };
  const cache = new SvidCache(signer.logger, () => now, stats);
  assert.equal(cache.applyEntries(entries), true);
  assert.equal(cache.applyEntries(entries), false, 'the same entries change nothing');
  assert.equal(cache.anyDue(), true);
  let published = 0;
  await cache.signDue(sign, () => (published += 1));
  assert.equal(published, 1, 'one batch');
  assert.deepEqual(cache.counts(), { entries: 2, svids: 2 });
  assert.equal(stats.svidsSigned, 2);
  const first = cache.identities();
  for (const identity of first) {
    const leaf = new X509Certificate(identity.x509?.chain[0] ?? Buffer.alloc(0));
    assert.equal(leaf.subjectAltName, `URI:${identity.spiffeId}`);
    const key = createPrivateKey({ key: identity.x509?.privateKey ?? Buffer.alloc(0), format: 'der', type: 'pkcs8' });
    assert.ok(leaf.publicKey.equals(createPublicKey(key)), 'the served key is the certified one');
  }
  const byId = (list: typeof first, path: string): (typeof first)[number] | undefined => list.find((i) => i.spiffeId === `spiffe://svids.example${path}`);
  assert.equal(cache.entryIdFor('spiffe://svids.example/svids/a'), byId(first, '/svids/a')?.entryId);
  assert.equal(cache.anyDue(), false, 'nothing due right after signing');

  // /svids/a lives 120 s: due at half-life (minus jitter), /svids/b (1 h) not yet.
  now += 61_000;
  assert.equal(cache.anyDue(), true);
  await cache.signDue(sign, () => undefined);
  const second = cache.identities();
  assert.notDeepEqual(byId(second, '/svids/a')?.x509?.chain, byId(first, '/svids/a')?.x509?.chain, 'a rotated');
  assert.ok((byId(second, '/svids/a')?.revision ?? 0) > (byId(first, '/svids/a')?.revision ?? 0));
  assert.deepEqual(byId(second, '/svids/b')?.x509?.chain, byId(first, '/svids/b')?.x509?.chain, 'b untouched');
  assert.equal(stats.svidsSigned, 3);
});

test('a tainted CA makes what it issued due at once; the new SVIDs come from the new CA', async () => {
  const stats = { svidsSigned: 0, signFailures: 0 };
  const cache = new SvidCache(signer.logger, Date.now, stats);
  cache.applyEntries(entries);
  await cache.signDue(sign, () => undefined);
  const before = cache.identities().map((i) => i.x509?.chain[0]);
  await signer.taintActiveCa();
  await eventually(() => (latestBundles?.taintedX509Authorities.length ?? 0) > 0, 15_000, 'taint on the bundle stream');
  const update = readBundleUpdate(latestBundles ?? assert.fail());
  assert.equal(cache.rotateTainted(update.tainted), true);
  await cache.signDue(sign, () => undefined);
  const after = cache.identities().map((i) => new X509Certificate(i.x509?.chain[0] ?? Buffer.alloc(0)));
  assert.ok(after.every((leaf, n) => !leaf.raw.equals(before[n] ?? Buffer.alloc(0))));
  assert.ok(after.every((leaf) => !update.tainted.issued(leaf)), 'none issued by the tainted CA');
  assert.equal(cache.rotateTainted(update.tainted), false, 'nothing left to rotate');
});

test('an entry the signer refuses is retried later; a signer that does not answer is counted and retried soon', async () => {
  const now = Date.now();
  const stats = { svidsSigned: 0, signFailures: 0 };
  const cache = new SvidCache(signer.logger, () => now, stats);
  const unknown: agentApi.Entry = { ...(entries[0] ?? assert.fail()), id: 'e-notanentry', spiffeId: 'spiffe://svids.example/svids/ghost' };
  cache.applyEntries([unknown]);
  await cache.signDue(sign, () => undefined);
  assert.equal(stats.signFailures, 1);
  assert.deepEqual(cache.counts(), { entries: 1, svids: 0 });
  assert.equal(cache.anyDue(), false, 'not retried at once');

  const down = new SvidCache(signer.logger, () => now, stats);
  down.applyEntries(entries);
  await down.signDue(() => Promise.reject(new Error('connect ECONNREFUSED')), () => undefined);
  assert.equal(stats.signFailures, 3, 'both entries of the failed batch counted');
  assert.deepEqual(down.counts(), { entries: 2, svids: 0 });
});

test('entry changes: a new SPIFFE ID or TTL re-signs, a selector change does not, a removed entry goes', async () => {
  const stats = { svidsSigned: 0, signFailures: 0 };
  const cache = new SvidCache(signer.logger, Date.now, stats);
  cache.applyEntries(entries);
  await cache.signDue(sign, () => undefined);
  const [a, b] = entries;
  assert.ok(a && b);
  assert.equal(cache.applyEntries([{ ...a, revision: a.revision + 1n, selectors: ['unix:uid:9'] }, b]), true);
  assert.equal(cache.anyDue(), false, 'selectors are not in the certificate');
  assert.equal(cache.applyEntries([{ ...a, revision: a.revision + 2n, x509SvidTtl: 600 }, b]), true);
  assert.equal(cache.anyDue(), true, 'the TTL is');
  assert.equal(cache.applyEntries([b]), true);
  assert.deepEqual(cache.identities().map((i) => i.spiffeId), [b.spiffeId]);
});

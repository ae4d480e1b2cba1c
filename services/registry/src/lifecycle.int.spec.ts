// The registry's lifecycle rules through the API: delete refusals that name what must go
// first, entries deleted with their trust domain, cluster disable-then-delete, entry revisions,
// token revocation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let org: { id: string; token: string };
before(async () => {
  h = await startRegistryHarness('lifecycle');
  org = await h.organization('Lifecycle');
});
after(async () => h.close());

const api = (method: string, path: string, body?: unknown) => call(h.url, method, path, { token: org.token, ...(body === undefined ? {} : { body }) });

test('managed trust domain: one deployment; delete refused while a cluster remains, naming it', async () => {
  const td = await api('POST', '/api/v1/trust-domains', { name: 'life.example', description: 'prod' });
  assert.equal(td.status, 201);
  assert.equal(td.json.kind, 'managed');
  assert.equal(td.json.status, 'provisioning');
  assert.equal(td.json.deployments, 1);
  // The public bundle / JWKS / OIDC endpoints are not served yet: null, not URLs that answer 404.
  assert.deepEqual(td.json.endpoints, { agent: '127.0.0.1:8443', bundle: null, jwtIssuer: null, jwks: null, oidcDiscovery: null });
  const info = await api('GET', '/api/v1/trust-domains/life.example?showDeployments=true');
  assert.equal(info.json.deploymentList.length, 1);
  assert.equal(info.json.deploymentList[0].name, 'default');
  const cluster = await api('POST', '/api/v1/trust-domains/life.example/clusters', { name: 'production', platform: 'k8s' });
  assert.equal(cluster.status, 201);
  assert.match(cluster.json.id, /^c-[0-9a-z]{10}$/);
  const refused = await api('DELETE', '/api/v1/trust-domains/life.example');
  assert.equal(refused.status, 409);
  assert.equal(refused.json.code, 'TRUST_DOMAIN_IN_USE');
  assert.equal(refused.json.detail, `Trust domain has clusters in use; delete all clusters (production ${cluster.json.id}) before trying again`);
  assert.deepEqual(refused.json.blockers, [{ kind: 'cluster', id: cluster.json.id, name: 'production' }]);

  const notDisabled = await api('DELETE', `/api/v1/trust-domains/life.example/clusters/${cluster.json.id}`);
  assert.equal(notDisabled.status, 409);
  assert.equal(notDisabled.json.code, 'CLUSTER_NOT_DISABLED');
  assert.equal((await api('POST', `/api/v1/trust-domains/life.example/clusters/production/disable`, {})).json.status, 'disabled');
  assert.equal((await api('DELETE', `/api/v1/trust-domains/life.example/clusters/${cluster.json.id}`)).status, 204);
  assert.equal((await api('DELETE', '/api/v1/trust-domains/life.example')).status, 204);
  assert.equal((await api('GET', '/api/v1/trust-domains/life.example')).status, 404);
  // The name is free again.
  assert.equal((await api('POST', '/api/v1/trust-domains', { name: 'life.example' })).status, 201);
});

test('deleting a trust domain deletes its entries: gone from the API at once, each with its own entry.deleted; other trust domains keep theirs', async () => {
  await api('POST', '/api/v1/trust-domains', { name: 'doomed.example' });
  await api('POST', '/api/v1/trust-domains', { name: 'kept.example' });
  const entry = async (td: string, path: string): Promise<string> => {
    const created = await api('POST', `/api/v1/trust-domains/${td}/entries`, { spiffeId: `spiffe://${td}/${path}`, parentId: `spiffe://${td}/agent/c/n`, selectors: ['unix:uid:1'] });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json.id;
  };
  const doomed = [await entry('doomed.example', 'a'), await entry('doomed.example', 'b'), await entry('doomed.example', 'c')];
  const kept = await entry('kept.example', 'a');
  const before = await h.log.lastSequence();
  assert.equal((await api('DELETE', '/api/v1/trust-domains/doomed.example')).status, 204);
  for (const id of doomed) {
    const shown = await api('GET', `/api/v1/entries/${id}`);
    assert.equal(shown.status, 404, JSON.stringify(shown.json));
    assert.equal(shown.json.code, 'ENTRY_NOT_FOUND');
    assert.equal((await api('DELETE', `/api/v1/entries/${id}`)).status, 404, 'nothing left to delete');
  }
  assert.equal((await api('GET', `/api/v1/entries/${kept}`)).status, 200);
  assert.equal((await api('GET', '/api/v1/trust-domains/doomed.example/entries')).status, 404);
  const written = await h.eventsAfter(before);
  const removed = written.filter((e) => e.type === 'entry.deleted').map((e) => e.aggregateId);
  assert.deepEqual(removed.sort(), [...doomed].sort(), 'one entry.deleted per entry, none for the other trust domain');
  const deletedAt = written.findIndex((e) => e.type === 'trustdomain.deleted');
  const firstEntry = written.findIndex((e) => e.type === 'entry.deleted');
  assert.ok(deletedAt >= 0 && deletedAt < firstEntry, 'the trust domain is deleted first (the commit point), its entries after');
  const rows = await h.db.pool.query('SELECT id FROM registry.entries WHERE id = ANY($1)', [doomed]);
  assert.equal(rows.rowCount, 0, 'and the read model dropped them');
  // A new trust domain of the same name starts empty.
  await api('POST', '/api/v1/trust-domains', { name: 'doomed.example' });
  assert.deepEqual((await api('GET', '/api/v1/trust-domains/doomed.example/entries')).json.items, []);
});

test('self-hosted trust domain: deployments block deletion until deleted', async () => {
  const td = await api('POST', '/api/v1/trust-domains', { name: 'self.example', kind: 'self-hosted' });
  assert.equal(td.json.deployments, 0);
  const eu = await api('POST', '/api/v1/trust-domains/self.example/deployments', { name: 'eu-1', region: 'eu-west' });
  assert.equal(eu.status, 201);
  assert.match(eu.json.id, /^tdd-[0-9a-z]{10}$/);
  const refused = await api('DELETE', '/api/v1/trust-domains/self.example');
  assert.equal(refused.status, 409);
  assert.match(refused.json.detail, new RegExp(`delete all deployments \\(eu-1 ${eu.json.id}\\)`));
  assert.equal((await api('DELETE', `/api/v1/trust-domains/self.example/deployments/${eu.json.id}`)).status, 204);
  assert.equal((await api('DELETE', '/api/v1/trust-domains/self.example')).status, 204);
});

test('entries: create, filter, update with revision, stale revision refused, delete', async () => {
  await api('POST', '/api/v1/trust-domains', { name: 'entries.example' });
  const created = await api('POST', '/api/v1/trust-domains/entries.example/entries', {
    spiffeId: 'spiffe://entries.example/payments',
    parentId: 'spiffe://entries.example/agent/prod/node-1',
    selectors: ['unix:uid:1000', 'unix:gid:1000', 'unix:uid:1000'],
    x509SvidTtl: 3600,
    dnsNames: ['Payments.Internal'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.deepEqual(created.json.selectors, ['unix:gid:1000', 'unix:uid:1000']);
  assert.deepEqual(created.json.dnsNames, ['payments.internal']);
  assert.equal(created.json.revision, 1);
  const filtered = await api('GET', `/api/v1/trust-domains/entries.example/entries?selector=${encodeURIComponent('unix:uid:1000')}`);
  assert.deepEqual(filtered.json.items.map((e: { id: string }) => e.id), [created.json.id]);
  const updated = await api('PATCH', `/api/v1/entries/${created.json.id}`, { revision: 1, selectors: ['unix:uid:2000'] });
  assert.equal(updated.status, 200);
  assert.equal(updated.json.revision, 2);
  assert.deepEqual(updated.json.selectors, ['unix:uid:2000']);
  assert.equal(updated.json.x509SvidTtl, 3600, 'fields not in the patch are kept');
  const stale = await api('PATCH', `/api/v1/entries/${created.json.id}`, { revision: 1, hint: 'x' });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.code, 'ENTRY_REVISION_MISMATCH');
  assert.equal((await api('DELETE', `/api/v1/entries/${created.json.id}`)).status, 204);
  assert.equal((await api('GET', `/api/v1/entries/${created.json.id}`)).status, 404);
});

test('tokens: created once, listed without secret, revoked tokens stop working', async () => {
  const created = await api('POST', '/api/v1/tokens', { name: 'ci', scopes: ['entries:read'] });
  assert.equal(created.status, 201);
  assert.match(created.json.token, /^tp_tok-[0-9a-z]{10}_[A-Za-z0-9_-]{43}$/);
  const list = await api('GET', '/api/v1/tokens');
  assert.ok(!JSON.stringify(list.json).includes(created.json.token.slice(-20)), 'secrets never listed');
  const ok = await call(h.url, 'GET', '/api/v1/trust-domains/entries.example/entries', { token: created.json.token });
  assert.equal(ok.status, 200);
  assert.equal((await api('DELETE', `/api/v1/tokens/${created.json.id}`)).status, 204);
  const refused = await call(h.url, 'GET', '/api/v1/trust-domains/entries.example/entries', { token: created.json.token });
  assert.equal(refused.status, 401);
});

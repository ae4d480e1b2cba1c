// The read endpoints tpctl's spirlctl-shaped commands need: whoami, deployments across trust
// domains, deployments by name, cluster config versions and active-cluster counts. Each with
// hostile callers: another organization's token sees nothing of ours, a token without the scope
// is refused, and a refused write appends nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let admin: string;
let orgId: string;
let other: string;

const api = (token: string, method: string, path: string, body?: unknown) => call(h.url, method, path, { token, ...(body === undefined ? {} : { body }) });

before(async () => {
  h = await startRegistryHarness('operator_views');
  const org = await h.organization('Views');
  admin = org.token;
  orgId = org.id;
  other = (await h.organization('Elsewhere')).token;
});
after(async () => h.close());

test('whoami names the organization and the calling token, with its scopes and expiry; any valid token may ask, none other', async () => {
  const me = await api(admin, 'GET', '/api/v1/whoami');
  assert.equal(me.status, 200);
  assert.equal(me.json.organizationId, orgId);
  assert.equal(me.json.organizationName, 'Views');
  assert.match(me.json.tokenId, /^tok-[0-9a-z]{10}$/);
  assert.equal(me.json.tokenName, 'test');
  assert.deepEqual(me.json.scopes, ['admin']);
  assert.equal(me.json.expiresAt, null);

  const reader = await api(admin, 'POST', '/api/v1/tokens', { name: 'reader', scopes: ['entries:read'], ttlDays: 7 });
  assert.equal(reader.status, 201);
  const asReader = await api(reader.json.token, 'GET', '/api/v1/whoami');
  assert.equal(asReader.status, 200, 'a token with no trust-domain scope still learns who it is');
  assert.equal(asReader.json.tokenId, reader.json.id);
  assert.equal(asReader.json.tokenName, 'reader');
  assert.deepEqual(asReader.json.scopes, ['entries:read']);
  assert.equal(asReader.json.expiresAt, reader.json.expiresAt);

  const theirs = await api(other, 'GET', '/api/v1/whoami');
  assert.equal(theirs.json.organizationName, 'Elsewhere', 'each token sees its own organization only');
  assert.notEqual(theirs.json.tokenId, me.json.tokenId);

  assert.equal((await call(h.url, 'GET', '/api/v1/whoami')).status, 401);
  assert.equal((await call(h.url, 'GET', '/api/v1/whoami', { token: `${admin.slice(0, -4)}AAAA` })).status, 401);
  assert.equal((await api(admin, 'DELETE', `/api/v1/tokens/${reader.json.id}`)).status, 204);
  assert.equal((await api(reader.json.token, 'GET', '/api/v1/whoami')).status, 401, 'a revoked token is refused');
});

test('deployments across trust domains: by trust domain name then name, with the trust domain name; managed=false; another organization sees none; scope enforced', async () => {
  for (const name of ['b-sh.example', 'a-sh.example']) assert.equal((await api(admin, 'POST', '/api/v1/trust-domains', { name, kind: 'self-hosted' })).status, 201);
  assert.equal((await api(admin, 'POST', '/api/v1/trust-domains', { name: 'managed.example' })).status, 201);
  for (const [td, name] of [['b-sh.example', 'us-west-2'], ['a-sh.example', 'eu-central-1'], ['a-sh.example', 'ap-south-1']] as const) {
    assert.equal((await api(admin, 'POST', `/api/v1/trust-domains/${td}/deployments`, { name })).status, 201);
  }
  const all = await api(admin, 'GET', '/api/v1/deployments');
  assert.equal(all.status, 200);
  assert.deepEqual(all.json.items.map((d: { trustDomainName: string; name: string }) => `${d.trustDomainName}/${d.name}`), [
    'a-sh.example/ap-south-1',
    'a-sh.example/eu-central-1',
    'b-sh.example/us-west-2',
    'managed.example/default',
  ]);
  const selfHosted = await api(admin, 'GET', '/api/v1/deployments?managed=false');
  assert.equal(selfHosted.json.items.length, 3);
  assert.ok(selfHosted.json.items.every((d: { managed: boolean }) => !d.managed));
  // Pages of one follow the same order.
  const seen: string[] = [];
  for (let after: string | null = ''; after !== null; ) {
    const page = await api(admin, 'GET', `/api/v1/deployments?limit=1${after === '' ? '' : `&after=${encodeURIComponent(after)}`}`);
    seen.push(...page.json.items.map((d: { name: string }) => d.name));
    after = page.json.nextCursor;
  }
  assert.deepEqual(seen, ['ap-south-1', 'eu-central-1', 'us-west-2', 'default']);

  assert.deepEqual((await api(other, 'GET', '/api/v1/deployments')).json.items, [], 'another organization sees none of ours');
  const bad = await api(admin, 'GET', '/api/v1/deployments?managed=maybe');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'VALIDATION_FAILED');
  const entriesOnly = await api(admin, 'POST', '/api/v1/tokens', { name: 'entries-only', scopes: ['entries:read'] });
  const refused = await api(entriesOnly.json.token, 'GET', '/api/v1/deployments');
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'INSUFFICIENT_SCOPE');
});

test('a deployment is addressed by name or id; another organization cannot read or delete it by either', async () => {
  await api(admin, 'POST', '/api/v1/trust-domains', { name: 'named.example', kind: 'self-hosted' });
  const created = await api(admin, 'POST', '/api/v1/trust-domains/named.example/deployments', { name: 'dc1' });
  assert.equal(created.status, 201);
  const byName = await api(admin, 'GET', '/api/v1/trust-domains/named.example/deployments/dc1');
  assert.equal(byName.status, 200);
  assert.equal(byName.json.id, created.json.id);
  assert.equal(byName.json.trustDomainName, 'named.example');

  const before = await h.log.lastSequence();
  for (const path of ['named.example/deployments/dc1', `named.example/deployments/${created.json.id as string}`]) {
    assert.equal((await api(other, 'GET', `/api/v1/trust-domains/${path}`)).status, 404);
    assert.equal((await api(other, 'DELETE', `/api/v1/trust-domains/${path}`)).status, 404);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing appended for the other organization');

  assert.equal((await api(admin, 'DELETE', '/api/v1/trust-domains/named.example/deployments/dc1')).status, 204);
  assert.equal((await api(admin, 'GET', `/api/v1/trust-domains/named.example/deployments/${created.json.id as string}`)).status, 404);
});

test('cluster config versions: listed with their documents and read one by one; active clusters counted apart from all clusters', async () => {
  await api(admin, 'POST', '/api/v1/trust-domains', { name: 'cfg.example' });
  const cluster = await api(admin, 'POST', '/api/v1/trust-domains/cfg.example/clusters', { name: 'production', platform: 'k8s' });
  assert.equal(cluster.status, 201);
  await api(admin, 'POST', '/api/v1/trust-domains/cfg.example/clusters', { name: 'staging', platform: 'k8s' });
  for (const level of ['info', 'debug']) {
    assert.equal((await api(admin, 'POST', '/api/v1/trust-domains/cfg.example/clusters/production/config-versions', { config: { logLevel: level } })).status, 201);
  }
  const list = await api(admin, 'GET', '/api/v1/trust-domains/cfg.example/clusters/production/config-versions');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.items.map((v: { config: unknown }) => v.config), [{ logLevel: 'info' }, { logLevel: 'debug' }]);
  const [first] = list.json.items as { id: string; clusterId: string }[];
  assert.match(first?.id ?? '', /^cv-[0-9a-z]{10}$/);
  assert.equal(first?.clusterId, cluster.json.id);
  const one = await api(admin, 'GET', `/api/v1/trust-domains/cfg.example/clusters/production/config-versions/${first?.id ?? ''}`);
  assert.deepEqual(one.json, list.json.items[0]);
  const missing = await api(admin, 'GET', '/api/v1/trust-domains/cfg.example/clusters/production/config-versions/cv-0000000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.code, 'CLUSTER_CONFIG_VERSION_NOT_FOUND');
  assert.equal((await api(other, 'GET', '/api/v1/trust-domains/cfg.example/clusters/production/config-versions')).status, 404);
  assert.equal((await api(other, 'GET', `/api/v1/trust-domains/cfg.example/clusters/production/config-versions/${first?.id ?? ''}`)).status, 404);

  assert.equal((await api(admin, 'POST', '/api/v1/trust-domains/cfg.example/clusters/staging/disable')).status, 200);
  const td = await api(admin, 'GET', '/api/v1/trust-domains/cfg.example');
  assert.equal(td.json.clusters, 2);
  assert.equal(td.json.activeClusters, 1);
  assert.equal(td.json.activeFederations, 0);
});

test('token list and revoke: only the caller organization\'s tokens, never a secret; another organization\'s token cannot be revoked; scope enforced', async () => {
  const mine = await api(admin, 'POST', '/api/v1/tokens', { name: 'listed', scopes: ['entries:read'] });
  const listed = await api(admin, 'GET', '/api/v1/tokens');
  assert.equal(listed.status, 200);
  const ids = listed.json.items.map((t: { id: string }) => t.id);
  assert.ok(ids.includes(mine.json.id));
  assert.ok(!JSON.stringify(listed.json).includes(mine.json.token), 'no secret in the list');
  for (const item of listed.json.items as Record<string, unknown>[]) assert.deepEqual(Object.keys(item).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'revoked', 'scopes']);

  const theirs = await api(other, 'GET', '/api/v1/tokens');
  assert.ok(!theirs.json.items.some((t: { id: string }) => ids.includes(t.id)), 'another organization lists none of ours');
  const before = await h.log.lastSequence();
  const foreign = await api(other, 'DELETE', `/api/v1/tokens/${mine.json.id as string}`);
  assert.equal(foreign.status, 404);
  assert.equal(foreign.json.code, 'TOKEN_NOT_FOUND');
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
  assert.equal((await api(mine.json.token, 'GET', '/api/v1/whoami')).status, 200, 'the token still works');

  const reader = await api(admin, 'POST', '/api/v1/tokens', { name: 'no-token-scope', scopes: ['trust-domains:read'] });
  for (const [method, path] of [['GET', '/api/v1/tokens'], ['DELETE', `/api/v1/tokens/${mine.json.id as string}`]] as const) {
    const refused = await api(reader.json.token, method, path);
    assert.equal(refused.status, 403, `${method} ${path}`);
    assert.equal(refused.json.code, 'INSUFFICIENT_SCOPE');
  }
  assert.equal((await api(admin, 'DELETE', `/api/v1/tokens/${mine.json.id as string}`)).status, 204);
  const after = await api(admin, 'GET', '/api/v1/tokens');
  assert.equal(after.json.items.find((t: { id: string }) => t.id === mine.json.id)?.revoked, true);
});

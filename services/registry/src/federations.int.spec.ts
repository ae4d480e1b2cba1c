// Federation relationships through the REST API on real NATS and Postgres: peers of this
// installation by trust domain id and external peers by an allow-listed bundle endpoint URL
// (https_web, or https_spiffe with endpoint SPIFFE ID and bootstrap bundle); one per pair;
// refresh and delete; bad input and URLs outside the operator's allow-list refused with nothing
// written; another organization sees nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { compareProjection, dropRebuildSchema, rebuildProjection } from '@trustplane/eventstore';
import { federationsProjection } from './federation/federations.projection.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

const ALLOWED = 'https://peers.example.net/federation/';
// A self-signed P-256 CA certificate (CN=peer.example, URI spiffe://peer.example), made once with openssl.
const CA =
  'MIIBpDCCAUugAwIBAgIUIdAOXa1itFtfEk7YuPIfJoX/IaUwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMcGVlci5leGFtcGxlMB4XDTI2MTIwMzE0MDUyMloXDTM2MTEzMDE0MDUyMlowFzEVMBMGA1UEAwwMcGVlci5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEW8T8j3xCB48nyCP3IKn1FcO2QZe5UbQZuih7vurQh1lmSpXWSsnTOiFEgKer462uzhT6WdrM/OtDa5Xs+QnQlaN1MHMwHQYDVR0OBBYEFApIgsU0V8vrYSQaTi6QxdX7BnZWMB8GA1UdIwQYMBaAFApIgsU0V8vrYSQaTi6QxdX7BnZWMA8GA1UdEwEB/wQFMAMBAf8wIAYDVR0RBBkwF4YVc3BpZmZlOi8vcGVlci5leGFtcGxlMAoGCCqGSM49BAMCA0cAMEQCIHtKJibndo861QcCnoTrksM7nJz7x4oFRUmzzzKUpHyQAiAnYHgDbIt4Mrx+94hMG2tQEpaJMHlUE3TKpHYYyzztFA==';

let h: RegistryHarness;
let org: { id: string; token: string };
let other: { id: string; token: string };
let ours: string;
let sibling: string;

const api = (method: string, path: string, body?: unknown, token = org.token) => call(h.url, method, path, { token, ...(body === undefined ? {} : { body }) });

before(async () => {
  h = await startRegistryHarness('federations', { TP_REGISTRY_FEDERATION_URLS: ALLOWED });
  org = await h.organization('Federating');
  other = await h.organization('Other');
  ours = (await api('POST', '/api/v1/trust-domains', { name: 'ours.example' })).json.id;
  sibling = (await api('POST', '/api/v1/trust-domains', { name: 'sibling.example' })).json.id;
});
after(async () => h.close());

test('a peer of this installation by trust domain id; one relationship per pair; info by id or peer name; list', async () => {
  const created = await api('POST', `/api/v1/trust-domains/${ours}/federations`, { peerTrustDomainId: sibling });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.match(created.json.id, /^fr-[0-9a-z]{10}$/);
  assert.deepEqual(created.json.peer, { kind: 'internal', trustDomain: 'sibling.example', trustDomainId: sibling, bundleEndpointUrl: null, profile: null, endpointSpiffeId: null, bootstrapBundle: false });
  const again = await api('POST', `/api/v1/trust-domains/ours.example/federations`, { peerTrustDomainId: sibling });
  assert.equal(again.status, 201, 'the same request again changes nothing');
  assert.equal(again.json.id, created.json.id);
  const conflicting = await api('POST', `/api/v1/trust-domains/${ours}/federations`, { trustDomain: 'sibling.example', bundleEndpointUrl: `${ALLOWED}sibling`, profile: 'https_web' });
  assert.equal(conflicting.status, 409);
  assert.equal(conflicting.json.code, 'FEDERATION_EXISTS');
  assert.equal((await api('GET', `/api/v1/trust-domains/${ours}/federations/sibling.example`)).json.id, created.json.id);
  const list = await api('GET', `/api/v1/trust-domains/${ours}/federations`);
  assert.deepEqual(list.json.items.map((f: { peer: { trustDomain: string } }) => f.peer.trustDomain), ['sibling.example']);
  // One-way: the sibling trusts nobody because of this.
  assert.deepEqual((await api('GET', `/api/v1/trust-domains/${sibling}/federations`)).json.items, []);
});

test('external peers: https_web and https_spiffe; refresh; delete', async () => {
  const web = await api('POST', `/api/v1/trust-domains/${ours}/federations`, { trustDomain: 'web.example', bundleEndpointUrl: `${ALLOWED}web/bundle`, profile: 'https_web' });
  assert.equal(web.status, 201, JSON.stringify(web.json));
  assert.equal(web.json.peer.profile, 'https_web');
  const bootstrap = JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', crv: 'P-256', x: 'x', y: 'y', x5c: [CA] }], spiffe_sequence: 3 });
  const spiffe = await api('POST', `/api/v1/trust-domains/${ours}/federations`, {
    trustDomain: 'peer.example',
    bundleEndpointUrl: `${ALLOWED}peer/bundle`,
    profile: 'https_spiffe',
    endpointSpiffeId: 'spiffe://peer.example/bundle-endpoint',
    bootstrapBundle: bootstrap,
  });
  assert.equal(spiffe.status, 201, JSON.stringify(spiffe.json));
  assert.equal(spiffe.json.peer.endpointSpiffeId, 'spiffe://peer.example/bundle-endpoint');
  assert.equal(spiffe.json.peer.bootstrapBundle, true);
  const stored = await h.log.readAggregate({ tenant: org.id, aggregateType: 'federation', aggregateId: spiffe.json.id });
  assert.deepEqual(stored.map((s) => s.event.type), ['federation.created']);

  const refreshed = await api('POST', `/api/v1/trust-domains/${ours}/federations/${spiffe.json.id}/refresh`);
  assert.equal(refreshed.status, 200);
  assert.ok(refreshed.json.refreshRequestedAt !== null);
  assert.equal((await api('DELETE', `/api/v1/trust-domains/${ours}/federations/web.example`)).status, 204);
  assert.equal((await api('GET', `/api/v1/trust-domains/${ours}/federations/web.example`)).status, 404);
  assert.equal((await api('DELETE', `/api/v1/trust-domains/${ours}/federations/web.example`)).status, 404);
  // Deleted, the pair may federate again.
  assert.equal((await api('POST', `/api/v1/trust-domains/${ours}/federations`, { trustDomain: 'web.example', bundleEndpointUrl: `${ALLOWED}web/bundle`, profile: 'https_web' })).status, 201);
});

test('refused, with the failing field, and nothing written: URLs outside the allow-list, http, self, bad bundles, mixed peers', async () => {
  const before = await h.log.lastSequence();
  const cases: [unknown, string, string][] = [
    [{ trustDomain: 'evil.example', bundleEndpointUrl: 'https://peers.example.net/other/bundle', profile: 'https_web' }, 'bundleEndpointUrl', 'URL_NOT_ALLOWED'],
    [{ trustDomain: 'evil.example', bundleEndpointUrl: 'https://169.254.169.254/latest/meta-data', profile: 'https_web' }, 'bundleEndpointUrl', 'URL_NOT_ALLOWED'],
    [{ trustDomain: 'evil.example', bundleEndpointUrl: 'http://peers.example.net/federation/x', profile: 'https_web' }, 'bundleEndpointUrl', 'URL_NOT_HTTPS'],
    [{ trustDomain: 'evil.example', bundleEndpointUrl: 'file:///etc/passwd', profile: 'https_web' }, 'bundleEndpointUrl', 'URL_NOT_HTTPS'],
    [{ trustDomain: 'evil.example', bundleEndpointUrl: `${ALLOWED}../admin`, profile: 'https_web' }, 'bundleEndpointUrl', 'URL_NOT_NORMALIZED'],
    [{ trustDomain: 'ours.example', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_web' }, 'trustDomain', 'FEDERATION_WITH_SELF'],
    [{ trustDomain: 'Not A Domain', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_web' }, 'trustDomain', ''],
    [{ trustDomain: 'p.example', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_spiffe', endpointSpiffeId: 'spiffe://p.example/e', bootstrapBundle: JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: [CA], d: 'secret' }] }) }, 'bootstrapBundle.keys[0]', 'BUNDLE_PRIVATE_KEY'],
    [{ trustDomain: 'p.example', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_spiffe', endpointSpiffeId: 'not-an-id', bootstrapBundle: '{}' }, 'endpointSpiffeId', ''],
    [{ peerTrustDomainId: sibling, bundleEndpointUrl: `${ALLOWED}x` }, 'bundleEndpointUrl', 'NOT_APPLICABLE'],
    [{ peerTrustDomainId: ours }, 'peerTrustDomainId', 'FEDERATION_WITH_SELF'],
    [{ peerTrustDomainId: 'td-0000000000' }, 'peerTrustDomainId', 'NOT_FOUND'],
    [{ trustDomain: 'x.example', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_web', extra: 1 }, 'extra', ''],
  ];
  for (const [body, field, code] of cases) {
    const response = await api('POST', `/api/v1/trust-domains/${ours}/federations`, body);
    assert.equal(response.status, 400, `${JSON.stringify(body)} → ${response.status} ${JSON.stringify(response.json)}`);
    assert.match(response.type, /application\/problem\+json/);
    const problem = (response.json.errors as { field: string; code: string }[]).find((e) => e.field === field);
    assert.ok(problem !== undefined, `${JSON.stringify(body)}: no error for ${field} in ${JSON.stringify(response.json.errors)}`);
    if (code !== '') assert.equal(problem.code, code);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
});

test('another organization cannot see, refresh or delete the relationships, nor name our trust domains as peers', async () => {
  const mine = (await api('GET', `/api/v1/trust-domains/${ours}/federations`)).json.items[0];
  assert.ok(mine !== undefined);
  for (const [method, path] of [
    ['GET', `/api/v1/trust-domains/${ours}/federations`],
    ['GET', `/api/v1/trust-domains/${ours}/federations/${mine.id}`],
    ['POST', `/api/v1/trust-domains/${ours}/federations/${mine.id}/refresh`],
    ['DELETE', `/api/v1/trust-domains/${ours}/federations/${mine.id}`],
  ] as const) {
    assert.equal((await api(method, path, undefined, other.token)).status, 404, `${method} ${path}`);
  }
  const theirs = (await api('POST', '/api/v1/trust-domains', { name: 'theirs.example' }, other.token)).json.id;
  const refused = await api('POST', `/api/v1/trust-domains/${theirs}/federations`, { peerTrustDomainId: ours }, other.token);
  assert.equal(refused.status, 400);
  assert.equal(refused.json.errors[0].code, 'NOT_FOUND');
  assert.equal((await api('GET', `/api/v1/trust-domains/${ours}/federations/${mine.id}`)).status, 200, 'still there');
});

test('without an allow-list no external peer is accepted', async () => {
  const bare = await startRegistryHarness('federations_bare');
  try {
    const o = await bare.organization('Bare');
    const td = (await call(bare.url, 'POST', '/api/v1/trust-domains', { token: o.token, body: { name: 'bare.example' } })).json.id;
    const response = await call(bare.url, 'POST', `/api/v1/trust-domains/${td}/federations`, { token: o.token, body: { trustDomain: 'peer.example', bundleEndpointUrl: `${ALLOWED}x`, profile: 'https_web' } });
    assert.equal(response.status, 400);
    assert.equal(response.json.errors[0].code, 'URL_NOT_ALLOWED');
  } finally {
    await bare.close();
  }
});

test('a rebuild of registry.federations from the log gives byte-identical rows', async () => {
  const pool = new pg.Pool({ connectionString: h.db.url, max: 2 });
  const target = `registry_rebuild_${Date.now().toString(36)}`;
  try {
    await rebuildProjection({ nc: h.nc, pool, stream: h.stream, projection: federationsProjection, liveSchema: 'registry', targetSchema: target });
    const comparison = await compareProjection(pool, federationsProjection, 'registry', target);
    const rows = comparison.tables.find((t) => t.table === 'federations');
    assert.ok(rows !== undefined && rows.leftRows >= 3, JSON.stringify(rows));
    assert.equal(comparison.equal, true, JSON.stringify(comparison.tables));
  } finally {
    await dropRebuildSchema(pool, target);
    await pool.end();
  }
});

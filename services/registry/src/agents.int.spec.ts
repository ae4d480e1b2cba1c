// Node attestation's registry side against real NATS + Postgres: cluster keys (private half shown
// once, public half in the log), join tokens (hash only), agents appended as the signer appends
// them, bans, tenant isolation and bad input writing nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import pg from 'pg';
import { compareProjection, dropRebuildSchema, handleCommand, rebuildProjection, type CommandContext } from '@trustplane/eventstore';
import { AGENT, agentDecider, agentIdFor, joinTokenMatches, parseJoinToken } from '@trustplane/registry-domain';
import { registryModelProjection } from './model/registry.projection.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let a: { id: string; token: string };
let b: { id: string; token: string };
let tdA: string;
let clusterA: { id: string; name: string };
let clusterB: string;

const signerContext = (): CommandContext => ({
  actor: { kind: 'service', id: 'signer' },
  correlationId: 'test',
  causationId: 'test',
  now: new Date(),
});

/** Appends `agent.attested` the way the signer does after checking a join token. */
async function attest(tenant: string, trustDomainId: string, cluster: { id: string; name: string }, nodeName: string, serialNumber: string): Promise<string> {
  const id = agentIdFor(cluster.id, nodeName);
  await handleCommand(
    h.log,
    agentDecider,
    { tenant, aggregateType: AGENT, aggregateId: id },
    {
      kind: 'attest',
      trustDomainId,
      trustDomain: 'agents.example',
      clusterId: cluster.id,
      clusterName: cluster.name,
      nodeName,
      method: 'join_token',
      serialNumber,
      expiresAt: new Date(Date.now() + 3_600_000),
    },
    signerContext(),
  );
  return id;
}

/** Polls until `predicate` holds for the response of `path` (the projection is asynchronous). */
async function eventually(token: string, path: string, predicate: (json: { [key: string]: unknown }) => boolean): Promise<{ [key: string]: unknown }> {
  let last: unknown;
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await call(h.url, 'GET', path, { token });
    last = response.json;
    if (response.status === 200 && predicate(response.json)) return response.json;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} never matched: ${JSON.stringify(last)}`);
}

before(async () => {
  h = await startRegistryHarness('agents');
  a = await h.organization('Org A');
  b = await h.organization('Org B');
  tdA = (await call(h.url, 'POST', '/api/v1/trust-domains', { token: a.token, body: { name: 'agents.example' } })).json.id;
  await call(h.url, 'POST', '/api/v1/trust-domains', { token: b.token, body: { name: 'agents.example' } });
  const created = await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters', { token: a.token, body: { name: 'prod', platform: 'linux' } });
  clusterA = { id: created.json.id, name: 'prod' };
  clusterB = (await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters', { token: b.token, body: { name: 'prod', platform: 'linux' } })).json.id;
});
after(async () => h.close());

test('creating a cluster returns a usable Ed25519 key once; only its public half is in cluster.key_registered', async () => {
  const created = await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters', { token: a.token, body: { name: 'edge', platform: 'k8s' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { keyId, privateKey } = created.json.clusterKey;
  assert.match(keyId, /^ck-[0-9a-z]{10}$/);
  assert.match(privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(privateKey);
  assert.equal(key.asymmetricKeyType, 'ed25519');

  const events = await h.log.readAggregate({ tenant: a.id, aggregateType: 'cluster', aggregateId: created.json.id });
  assert.deepEqual(events.map((e) => e.event.type), ['cluster.created', 'cluster.key_registered']);
  const registered = events[1]?.event;
  assert.ok(registered?.type === 'cluster.key_registered');
  assert.equal(registered.data.keyId, keyId);
  const publicKey = createPublicKey({ key: Buffer.from(registered.data.publicKey, 'base64'), format: 'der', type: 'spki' });
  const message = Buffer.from('attest node-1');
  assert.ok(verify(null, message, publicKey, sign(null, message, key)), 'the registered public key verifies signatures of the returned private key');
  // The private key is nowhere in the log.
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' }).toString('base64');
  assert.ok(!JSON.stringify(events).includes(pkcs8.slice(-44)));
  // Nor shown again.
  const info = await call(h.url, 'GET', `/api/v1/trust-domains/agents.example/clusters/${created.json.id}`, { token: a.token });
  assert.equal(info.json.clusterKey, undefined);
});

test('a join token is shown once; its event holds the salted hash, never the token', async () => {
  const response = await call(h.url, 'POST', `/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`, { token: a.token, body: { ttlSeconds: 600 } });
  assert.equal(response.status, 201, JSON.stringify(response.json));
  const { id, token, clusterId, expiresAt } = response.json;
  assert.match(id, /^jt-[0-9a-z]{10}$/);
  assert.equal(clusterId, clusterA.id);
  const parsed = parseJoinToken(token);
  assert.ok(parsed !== undefined && parsed.id === id, token);
  const ttl = Date.parse(expiresAt) - Date.parse(response.json.createdAt);
  assert.equal(ttl, 600_000);

  const [stored] = await h.log.readAggregate({ tenant: a.id, aggregateType: 'jointoken', aggregateId: id });
  assert.equal(stored?.event.type, 'jointoken.created');
  assert.ok(stored?.event.type === 'jointoken.created');
  assert.equal(stored.event.data.clusterId, clusterA.id);
  assert.equal(stored.event.data.trustDomainId, tdA);
  assert.ok(joinTokenMatches(parsed.secret, stored.event.data.salt, stored.event.data.hash));
  assert.ok(!JSON.stringify(stored.event).includes(parsed.secret), 'the secret is not in the event');

  // The default lifetime is one hour, and an empty POST is accepted; a name works as well as an id.
  const byName = await call(h.url, 'POST', `/api/v1/trust-domains/agents.example/clusters/prod/join-tokens`, { token: a.token });
  assert.equal(byName.status, 201, JSON.stringify(byName.json));
  assert.equal(Date.parse(byName.json.expiresAt) - Date.parse(byName.json.createdAt), 3_600_000);
});

test('bad join token requests are refused with 4xx and append nothing', async () => {
  const before = await h.log.lastSequence();
  const cases: [string, unknown, number, string][] = [
    [`/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`, { ttlSeconds: 59 }, 400, 'VALIDATION_FAILED'],
    [`/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`, { ttlSeconds: 86_401 }, 400, 'VALIDATION_FAILED'],
    [`/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`, { ttlSeconds: '1h' }, 400, 'VALIDATION_FAILED'],
    [`/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`, { ttl: 60 }, 400, 'VALIDATION_FAILED'],
    ['/api/v1/trust-domains/agents.example/clusters/c-zzzzzzzzzz/join-tokens', {}, 404, 'CLUSTER_NOT_FOUND'],
    ['/api/v1/trust-domains/nope.example/clusters/prod/join-tokens', {}, 404, 'TRUST_DOMAIN_NOT_FOUND'],
  ];
  for (const [path, body, status, code] of cases) {
    const response = await call(h.url, 'POST', path, { token: a.token, body });
    assert.equal(response.status, status, `${path} ${JSON.stringify(body)} → ${JSON.stringify(response.json)}`);
    assert.equal(response.json.code, code, JSON.stringify(response.json));
  }
  assert.equal(await h.log.lastSequence(), before);
});

test('a disabled cluster gets no join tokens (409)', async () => {
  await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters', { token: a.token, body: { name: 'retired', platform: 'vm' } });
  const disabled = await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters/retired/disable', { token: a.token });
  assert.equal(disabled.status, 200);
  const before = await h.log.lastSequence();
  const response = await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters/retired/join-tokens', { token: a.token, body: {} });
  assert.equal(response.status, 409, JSON.stringify(response.json));
  assert.equal(response.json.code, 'CLUSTER_DISABLED');
  assert.equal(await h.log.lastSequence(), before);
});

test('agents attested by the signer appear in the list; ban appends agent.banned and shows it', async () => {
  const id1 = await attest(a.id, tdA, clusterA, 'node-1', '01aa');
  const id2 = await attest(a.id, tdA, clusterA, 'node-2', '02bb');
  const list = await eventually(a.token, '/api/v1/trust-domains/agents.example/agents', (j) => Array.isArray(j['items']) && j['items'].length === 2);
  const items = list['items'] as { [key: string]: unknown }[];
  assert.deepEqual(items.map((i) => i['id']).sort(), [id1, id2].sort());
  const first = items.find((i) => i['id'] === id1);
  assert.equal(first?.['spiffeId'], 'spiffe://agents.example/agent/prod/node-1');
  assert.equal(first?.['clusterId'], clusterA.id);
  assert.equal(first?.['nodeName'], 'node-1');
  assert.equal(first?.['method'], 'join_token');
  assert.equal(first?.['serialNumber'], '01aa');
  assert.equal(first?.['banned'], false);
  assert.equal(typeof first?.['attestedAt'], 'string');

  // Re-attestation of the same node keeps its id and records the new serial.
  assert.equal(await attest(a.id, tdA, clusterA, 'node-1', '03cc'), id1);
  await eventually(a.token, `/api/v1/agents/${id1}`, (j) => j['serialNumber'] === '03cc');

  const before = await h.log.lastSequence();
  const banned = await call(h.url, 'POST', `/api/v1/agents/${id1}/ban`, { token: a.token, body: { reason: 'decommissioned' } });
  assert.equal(banned.status, 200, JSON.stringify(banned.json));
  assert.equal(banned.json.banned, true);
  assert.equal(banned.json.banReason, 'decommissioned');
  assert.equal(await h.log.lastSequence(), before + 1);
  const events = await h.log.readAggregate({ tenant: a.id, aggregateType: 'agent', aggregateId: id1 });
  assert.deepEqual(events.at(-1)?.event.type, 'agent.banned');
  // Idempotent: banning again appends nothing.
  const again = await call(h.url, 'POST', `/api/v1/agents/${id1}/ban`, { token: a.token });
  assert.equal(again.status, 200);
  assert.equal(await h.log.lastSequence(), before + 1);
  // And the signer can no longer attest it.
  await assert.rejects(attest(a.id, tdA, clusterA, 'node-1', '04dd'), { code: 'AGENT_BANNED' });
  const shown = await call(h.url, 'GET', `/api/v1/agents/${id1}`, { token: a.token });
  assert.equal(shown.json.banned, true);
});

test('tenant isolation: org B sees no agents of A, cannot ban them or issue join tokens on A’s clusters', async () => {
  const id = await attest(a.id, tdA, clusterA, 'node-iso', '0eee');
  await eventually(a.token, `/api/v1/agents/${id}`, () => true);
  const before = await h.log.lastSequence();
  for (const [method, path] of [
    ['GET', `/api/v1/agents/${id}`],
    ['POST', `/api/v1/agents/${id}/ban`],
    ['POST', `/api/v1/trust-domains/${tdA}/clusters/${clusterA.id}/join-tokens`],
    ['POST', `/api/v1/trust-domains/agents.example/clusters/${clusterA.id}/join-tokens`],
    ['GET', `/api/v1/trust-domains/${tdA}/agents`],
  ] as const) {
    const response = await call(h.url, method, path, { token: b.token, ...(method === 'POST' ? { body: {} } : {}) });
    assert.equal(response.status, 404, `${method} ${path} → ${response.status} ${JSON.stringify(response.json)}`);
  }
  const own = await call(h.url, 'GET', '/api/v1/trust-domains/agents.example/agents', { token: b.token });
  assert.deepEqual(own.json.items, []);
  assert.equal(await h.log.lastSequence(), before, "nothing was appended by org B's attempts");
  // B's own cluster works for B, and not for A.
  assert.equal((await call(h.url, 'POST', `/api/v1/trust-domains/agents.example/clusters/${clusterB}/join-tokens`, { token: a.token, body: {} })).status, 404);
  assert.equal((await call(h.url, 'POST', `/api/v1/trust-domains/agents.example/clusters/${clusterB}/join-tokens`, { token: b.token, body: {} })).status, 201);
});

test('scopes: a read-only token lists agents but cannot ban or issue join tokens', async () => {
  const reader = await h.organization('Org R', ['trust-domains:read']);
  assert.equal((await call(h.url, 'GET', '/api/v1/trust-domains/agents.example/agents', { token: reader.token })).status, 404);
  assert.equal((await call(h.url, 'POST', '/api/v1/agents/ag-0000000000/ban', { token: reader.token, body: {} })).status, 403);
  assert.equal((await call(h.url, 'POST', '/api/v1/trust-domains/agents.example/clusters/prod/join-tokens', { token: reader.token, body: {} })).status, 403);
});

test('unknown and malformed agent ids are 404; a bad ban reason is 400 and appends nothing', async () => {
  assert.equal((await call(h.url, 'GET', '/api/v1/agents/ag-zzzzzzzzzz', { token: a.token })).status, 404);
  assert.equal((await call(h.url, 'POST', '/api/v1/agents/nope/ban', { token: a.token, body: {} })).status, 404);
  const id = agentIdFor(clusterA.id, 'node-2');
  const before = await h.log.lastSequence();
  const response = await call(h.url, 'POST', `/api/v1/agents/${id}/ban`, { token: a.token, body: { reason: 'x'.repeat(501) } });
  assert.equal(response.status, 400, JSON.stringify(response.json));
  assert.equal(await h.log.lastSequence(), before);
});

test('the join token, agent and cluster key tables rebuild byte-identically from the log', async () => {
  const pool = new pg.Pool({ connectionString: h.db.url, max: 2 });
  const target = `registry_rebuild_${Date.now().toString(36)}`;
  try {
    await rebuildProjection({ nc: h.nc, pool, stream: h.stream, projection: registryModelProjection, liveSchema: 'registry', targetSchema: target });
    const comparison = await compareProjection(pool, registryModelProjection, 'registry', target);
    for (const table of ['agents', 'join_tokens', 'cluster_keys']) {
      const found = comparison.tables.find((t) => t.table === table);
      assert.ok(found !== undefined && found.leftRows >= 1, JSON.stringify(found));
    }
    assert.equal(comparison.equal, true, JSON.stringify(comparison.tables));
  } finally {
    await dropRebuildSchema(pool, target);
    await pool.end();
  }
});

// Config sections over REST against real NATS + Postgres: validation naming the failing field,
// optimistic concurrency, validate-only, the event appended, tenant isolation and clean-up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { compareProjection, dropRebuildSchema, rebuildProjection } from '@trustplane/eventstore';
import { registryModelProjection } from './model/registry.projection.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let a: { id: string; token: string };
let b: { id: string; token: string };
let deployment: string;
let cluster: string;
let trustDomainId: string;

const km = () => `/api/v1/config/trust-domain-deployment/${deployment}/key-manager`;
const agent = () => `/api/v1/config/cluster/${cluster}/agent`;
const disk = { kind: 'disk', dir: '/var/lib/trustplane/keys', kekPath: '/etc/trustplane/kek' };

before(async () => {
  h = await startRegistryHarness('config_sections');
  a = await h.organization('Org A');
  b = await h.organization('Org B');
  const td = await call(h.url, 'POST', '/api/v1/trust-domains', { token: a.token, body: { name: 'config.example', kind: 'self-hosted' } });
  trustDomainId = td.json.id;
  deployment = (await call(h.url, 'POST', '/api/v1/trust-domains/config.example/deployments', { token: a.token, body: { name: 'eu-1' } })).json.id;
  cluster = (await call(h.url, 'POST', '/api/v1/trust-domains/config.example/clusters', { token: a.token, body: { name: 'prod', platform: 'k8s' } })).json.id;
});
after(async () => h.close());

test('a valid key-manager document is stored as version 1, as the event configsection.set', async () => {
  const before = await h.log.lastSequence();
  const put = await call(h.url, 'PUT', km(), { token: a.token, body: { schema: 'v1', spec: disk, expectedVersion: 0 } });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.deepEqual(
    { ...put.json, createdAt: undefined, updatedAt: undefined },
    {
      targetKind: 'trust-domain-deployment',
      targetId: deployment,
      trustDomainId,
      section: 'key-manager',
      schema: 'v1',
      spec: disk,
      version: 1,
      changed: true,
      validateOnly: false,
      createdAt: undefined,
      updatedAt: undefined,
    },
  );
  assert.equal(await h.log.lastSequence(), before + 1);
  const [stored] = await h.log.readAggregate({ tenant: a.id, aggregateType: 'configsection', aggregateId: `${deployment}_key-manager` });
  assert.equal(stored?.event.type, 'configsection.set');
  assert.deepEqual(stored?.event.data, { targetKind: 'trust-domain-deployment', targetId: deployment, trustDomainId, section: 'key-manager', schema: 'v1', spec: disk, version: 1 });
  const got = await call(h.url, 'GET', km(), { token: a.token });
  assert.equal(got.status, 200);
  assert.deepEqual(got.json.spec, disk);
  assert.equal(got.json.version, 1);
});

test('invalid documents are refused naming the failing field, and append nothing', async () => {
  const before = await h.log.lastSequence();
  const cases: [unknown, number, string, string | undefined][] = [
    [{ schema: 'v1', spec: { kind: 'webhook' } }, 400, 'CONFIG_INVALID', 'spec.webhookURL'],
    [{ schema: 'v1', spec: { kind: 'webhook', webhookURL: 'http://km.example' } }, 400, 'CONFIG_INVALID', 'spec.webhookURL'],
    [{ schema: 'v1', spec: { kind: 'webhook', webhookURL: 'https://km.example', authType: 'bearer' } }, 400, 'CONFIG_INVALID', 'spec.tokenPath'],
    [{ schema: 'v1', spec: { kind: 'webhook', webhookURL: 'https://km.example', timeout: 'soon' } }, 400, 'CONFIG_INVALID', 'spec.timeout'],
    [{ schema: 'v1', spec: { kind: 'disk', dir: 'keys', kekPath: '/etc/kek' } }, 400, 'CONFIG_INVALID', 'spec.dir'],
    [{ schema: 'v1', spec: { kind: 'disk', dir: '/keys', kekPath: '/etc/kek', colour: 'red' } }, 400, 'CONFIG_INVALID', 'spec.colour'],
    [{ schema: 'v1', spec: { kind: 'hsm' } }, 400, 'CONFIG_INVALID', 'spec.kind'],
    [{ schema: 'v2', spec: disk }, 400, 'CONFIG_INVALID', 'schema'],
    [{ schema: 'v1' }, 400, 'VALIDATION_FAILED', 'spec'],
    [{ schema: 'v1', spec: [] }, 400, 'VALIDATION_FAILED', 'spec'],
    [{ schema: 'v1', spec: disk, expectedVersion: -1 }, 400, 'VALIDATION_FAILED', 'expectedVersion'],
    [{ schema: 'v1', spec: disk, section: 'key-manager' }, 400, 'VALIDATION_FAILED', 'section'],
  ];
  for (const [body, status, code, field] of cases) {
    const refused = await call(h.url, 'PUT', km(), { token: a.token, body });
    assert.equal(refused.status, status, `${JSON.stringify(body)} → ${JSON.stringify(refused.json)}`);
    assert.equal(refused.json.code, code, JSON.stringify(body));
    assert.equal(refused.json.errors?.[0]?.field, field, JSON.stringify(refused.json));
    assert.match(refused.type, /application\/problem\+json/);
  }
  const agentRefused = await call(h.url, 'PUT', agent(), { token: a.token, body: { schema: 'v1', spec: { svidTtlSeconds: 5, colour: 'red' } } });
  assert.equal(agentRefused.json.code, 'CONFIG_INVALID');
  assert.deepEqual(agentRefused.json.errors.map((e: { field: string }) => e.field), ['spec.colour', 'spec.svidTtlSeconds']);
  const wrongSection = await call(h.url, 'PUT', `/api/v1/config/cluster/${cluster}/key-manager`, { token: a.token, body: { schema: 'v1', spec: disk } });
  assert.equal(wrongSection.status, 400);
  assert.equal(wrongSection.json.code, 'CONFIG_SECTION_UNKNOWN');
  const wrongKind = await call(h.url, 'PUT', `/api/v1/config/deployment/${deployment}/key-manager`, { token: a.token, body: { schema: 'v1', spec: disk } });
  assert.equal(wrongKind.status, 400);
  assert.equal(wrongKind.json.errors[0].field, 'targetKind');
  const unknownTarget = await call(h.url, 'PUT', '/api/v1/config/trust-domain-deployment/tdd-zzzzzzzzzz/key-manager', { token: a.token, body: { schema: 'v1', spec: disk } });
  assert.equal(unknownTarget.status, 404);
  assert.equal(unknownTarget.json.code, 'DEPLOYMENT_NOT_FOUND');
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
  assert.equal((await call(h.url, 'GET', km(), { token: a.token })).json.version, 1);
});

test('expectedVersion: a stale one is 409 CONFIG_VERSION_MISMATCH; the current one moves to the next version', async () => {
  const webhook = { kind: 'webhook', webhookURL: 'https://km.example:8443', authType: 'bearer', tokenPath: '/run/secrets/km-token', timeout: '10s' };
  const stale = await call(h.url, 'PUT', km(), { token: a.token, body: { schema: 'v1', spec: webhook, expectedVersion: 0 } });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.code, 'CONFIG_VERSION_MISMATCH');
  assert.equal(stale.json.currentVersion, 1);
  const next = await call(h.url, 'PUT', km(), { token: a.token, body: { schema: 'v1', spec: webhook, expectedVersion: 1 } });
  assert.equal(next.status, 200, JSON.stringify(next.json));
  assert.equal(next.json.version, 2);
  assert.deepEqual(next.json.spec, webhook);
  // The same document again changes nothing and appends nothing.
  const before = await h.log.lastSequence();
  const same = await call(h.url, 'PUT', km(), { token: a.token, body: { schema: 'v1', spec: { ...webhook } } });
  assert.equal(same.json.changed, false);
  assert.equal(same.json.version, 2);
  assert.equal(await h.log.lastSequence(), before);
});

test('validateOnly validates, says so, and appends nothing', async () => {
  const before = await h.log.lastSequence();
  const checked = await call(h.url, 'PUT', `${km()}?validateOnly=true`, { token: a.token, body: { schema: 'v1', spec: { kind: 'memory' }, expectedVersion: 2 } });
  assert.equal(checked.status, 200, JSON.stringify(checked.json));
  assert.equal(checked.json.validateOnly, true);
  assert.equal(checked.json.changed, true);
  assert.equal(checked.json.version, 3, 'the version it would get');
  const invalid = await call(h.url, 'PUT', `${km()}?validateOnly=true`, { token: a.token, body: { schema: 'v1', spec: { kind: 'webhook' } } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json.errors[0].field, 'spec.webhookURL');
  const stale = await call(h.url, 'PUT', `${km()}?validateOnly=true`, { token: a.token, body: { schema: 'v1', spec: { kind: 'memory' }, expectedVersion: 1 } });
  assert.equal(stale.status, 409);
  const fresh = await call(h.url, 'PUT', `${agent()}?validateOnly=true`, { token: a.token, body: { schema: 'v1', spec: { logLevel: 'debug' } } });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.json.version, 1);
  assert.equal(fresh.json.createdAt, null);
  assert.equal(await h.log.lastSequence(), before);
  assert.equal((await call(h.url, 'GET', km(), { token: a.token })).json.version, 2);
  assert.equal((await call(h.url, 'GET', agent(), { token: a.token })).json.code, 'CONFIG_SECTION_NOT_FOUND');
});

test('a cluster agent section; scopes read/write', async () => {
  const put = await call(h.url, 'PUT', agent(), { token: a.token, body: { schema: 'v1', spec: { svidTtlSeconds: 1800, logLevel: 'info' } } });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.equal(put.json.targetKind, 'cluster');
  assert.equal(put.json.trustDomainId, trustDomainId);
  const reader = await call(h.url, 'POST', '/api/v1/tokens', { token: a.token, body: { name: 'reader', scopes: ['trust-domains:read'] } });
  assert.equal((await call(h.url, 'GET', agent(), { token: reader.json.token })).json.spec.svidTtlSeconds, 1800);
  const refused = await call(h.url, 'PUT', agent(), { token: reader.json.token, body: { schema: 'v1', spec: {} } });
  assert.equal(refused.status, 403);
});

test("org B can neither read nor set org A's sections", async () => {
  const before = await h.log.lastSequence();
  for (const [method, path] of [
    ['GET', km()],
    ['PUT', km()],
    ['PUT', `${km()}?validateOnly=true`],
    ['GET', agent()],
    ['PUT', agent()],
  ] as const) {
    const refused = await call(h.url, method, path, { token: b.token, ...(method === 'PUT' ? { body: { schema: 'v1', spec: path.includes('agent') ? {} : disk } } : {}) });
    assert.equal(refused.status, 404, `${method} ${path}: ${JSON.stringify(refused.json)}`);
    assert.match(refused.json.code, /^(DEPLOYMENT|CLUSTER)_NOT_FOUND$/);
  }
  assert.equal(await h.log.lastSequence(), before);
});

test("deleting the deployment removes its sections from the read model", async () => {
  const eu2 = (await call(h.url, 'POST', '/api/v1/trust-domains/config.example/deployments', { token: a.token, body: { name: 'eu-2' } })).json.id;
  assert.equal((await call(h.url, 'PUT', `/api/v1/config/trust-domain-deployment/${eu2}/key-manager`, { token: a.token, body: { schema: 'v1', spec: { kind: 'memory' } } })).status, 200);
  const owner = new pg.Client({ connectionString: h.db.url });
  await owner.connect();
  try {
    const count = async () => (await owner.query('SELECT count(*)::int AS n FROM registry.config_sections WHERE target_id = $1', [eu2])).rows[0].n;
    assert.equal(await count(), 1);
    assert.equal((await call(h.url, 'DELETE', `/api/v1/trust-domains/config.example/deployments/${eu2}`, { token: a.token })).status, 204);
    assert.equal(await count(), 0);
  } finally {
    await owner.end();
  }
  assert.equal((await call(h.url, 'GET', `/api/v1/config/trust-domain-deployment/${eu2}/key-manager`, { token: a.token })).json.code, 'DEPLOYMENT_NOT_FOUND');
});

test('a rebuild of registry.model from the log gives byte-identical config_sections rows', async () => {
  const pool = new pg.Pool({ connectionString: h.db.url, max: 2 });
  const target = `registry_rebuild_${Date.now().toString(36)}`;
  try {
    await rebuildProjection({ nc: h.nc, pool, stream: h.stream, projection: registryModelProjection, liveSchema: 'registry', targetSchema: target });
    const comparison = await compareProjection(pool, registryModelProjection, 'registry', target);
    const sections = comparison.tables.find((t) => t.table === 'config_sections');
    assert.ok(sections !== undefined && sections.leftRows >= 2, JSON.stringify(sections));
    assert.equal(comparison.equal, true, JSON.stringify(comparison.tables));
  } finally {
    await dropRebuildSchema(pool, target);
    await pool.end();
  }
});

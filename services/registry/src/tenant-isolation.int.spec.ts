// Org A's token can neither list, read, change nor delete org B's resources — not even by
// guessing ids — and a raw query as the API role without the tenant setting returns nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { apiDatabaseUrlOf, loadRegistryConfig } from './config.js';
import { TENANT_TABLES } from './migrations/1700000000001-registry-model.js';
import { CONFIG_SECTION_TABLES } from './migrations/1700000000002-config-sections.js';
import { AGENT_TABLES } from './migrations/1700000000003-agents.js';
import { IDEMPOTENCY_TABLES } from './migrations/1700000000004-idempotency-and-names.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let a: { id: string; token: string };
let b: { id: string; token: string };
let bTrustDomain: { id: string; name: string };
let bEntry: { id: string };
let bCluster: { id: string };

before(async () => {
  h = await startRegistryHarness('tenancy');
  a = await h.organization('Org A');
  b = await h.organization('Org B');
  const td = await call(h.url, 'POST', '/api/v1/trust-domains', { token: b.token, body: { name: 'b.example' } });
  bTrustDomain = td.json;
  bCluster = (await call(h.url, 'POST', `/api/v1/trust-domains/${bTrustDomain.id}/clusters`, { token: b.token, body: { name: 'prod', platform: 'linux' } })).json;
  bEntry = (
    await call(h.url, 'POST', `/api/v1/trust-domains/${bTrustDomain.id}/entries`, {
      token: b.token,
      body: { spiffeId: 'spiffe://b.example/db', parentId: 'spiffe://b.example/agent/prod/n1', selectors: ['unix:uid:70'] },
    })
  ).json;
  const section = await call(h.url, 'PUT', `/api/v1/config/cluster/${bCluster.id}/agent`, { token: b.token, body: { schema: 'v1', spec: { logLevel: 'info' } } });
  assert.equal(section.status, 200);
  await call(h.url, 'POST', '/api/v1/trust-domains', { token: a.token, body: { name: 'a.example' }, headers: { 'idempotency-key': 'a-td' } });
  await call(h.url, 'POST', '/api/v1/tokens', { token: b.token, body: { name: 'b-ci', scopes: ['entries:read'] }, headers: { 'idempotency-key': 'b-token' } });
});
after(async () => h.close());

test("org A cannot list, read, change or delete org B's trust domains, clusters or entries", async () => {
  const before = await h.log.lastSequence();
  const list = await call(h.url, 'GET', '/api/v1/trust-domains', { token: a.token });
  assert.deepEqual(list.json.items.map((t: { name: string }) => t.name), ['a.example']);
  const attempts: [string, string, unknown?][] = [
    ['GET', `/api/v1/trust-domains/${bTrustDomain.id}`],
    ['GET', `/api/v1/trust-domains/b.example`],
    ['DELETE', `/api/v1/trust-domains/${bTrustDomain.id}`],
    ['GET', `/api/v1/trust-domains/${bTrustDomain.id}/clusters`],
    ['GET', `/api/v1/trust-domains/${bTrustDomain.id}/clusters/${bCluster.id}`],
    ['POST', `/api/v1/trust-domains/${bTrustDomain.id}/clusters/${bCluster.id}/disable`, {}],
    ['DELETE', `/api/v1/trust-domains/${bTrustDomain.id}/clusters/${bCluster.id}`],
    ['POST', `/api/v1/trust-domains/${bTrustDomain.id}/clusters`, { name: 'sneaky', platform: 'linux' }],
    ['GET', `/api/v1/trust-domains/${bTrustDomain.id}/entries`],
    ['POST', `/api/v1/trust-domains/${bTrustDomain.id}/entries`, { spiffeId: 'spiffe://b.example/x', parentId: 'spiffe://b.example/agent/p/n', selectors: ['unix:uid:1'] }],
    ['GET', `/api/v1/entries/${bEntry.id}`],
    ['PATCH', `/api/v1/entries/${bEntry.id}`, { revision: 1, selectors: ['unix:uid:0'] }],
    ['DELETE', `/api/v1/entries/${bEntry.id}`],
    ['GET', `/api/v1/trust-domains/${bTrustDomain.id}/deployments`],
    ['GET', `/api/v1/config/cluster/${bCluster.id}/agent`],
    ['PUT', `/api/v1/config/cluster/${bCluster.id}/agent`, { schema: 'v1', spec: { logLevel: 'debug' } }],
  ];
  for (const [method, path, body] of attempts) {
    const response = await call(h.url, method, path, { token: a.token, ...(body === undefined ? {} : { body }) });
    assert.equal(response.status, 404, `${method} ${path} → ${response.status} ${JSON.stringify(response.json)}`);
  }
  assert.equal(await h.log.lastSequence(), before, "nothing was appended by org A's attempts");
  const stillThere = await call(h.url, 'GET', `/api/v1/entries/${bEntry.id}`, { token: b.token });
  assert.equal(stillThere.status, 200);
  assert.deepEqual(stillThere.json.selectors, ['unix:uid:70']);
});

test('the API role sees nothing without the tenant setting, and only its tenant with it', async () => {
  const config = loadRegistryConfig(h.env);
  const client = new pg.Client({ connectionString: apiDatabaseUrlOf(config) });
  await client.connect();
  try {
    for (const table of [...TENANT_TABLES, ...CONFIG_SECTION_TABLES, ...AGENT_TABLES, ...IDEMPOTENCY_TABLES]) {
      const rows = await client.query(`SELECT count(*)::int AS n FROM registry.${table}`);
      assert.equal(rows.rows[0].n, 0, `${table} without app.tenant`);
    }
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant', $1, true)`, [a.id]);
    const visible = await client.query('SELECT tenant_id FROM registry.trust_domains');
    assert.ok(visible.rows.length >= 1);
    assert.ok(visible.rows.every((r) => r.tenant_id === a.id));
    const keys = await client.query('SELECT tenant_id, key FROM registry.idempotency_keys');
    assert.deepEqual(keys.rows, [{ tenant_id: a.id, key: 'a-td' }], "idempotency records: only A's");
    const names = await client.query('SELECT tenant_id FROM registry.trust_domain_names');
    assert.ok(names.rows.length >= 1 && names.rows.every((r) => r.tenant_id === a.id));
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant', $1, true)`, [a.id]);
    await assert.rejects(
      client.query(`INSERT INTO registry.idempotency_keys (tenant_id, key, request_hash, expires_at) VALUES ($1, 'forged', 'x', now())`, [b.id]),
      /row-level security/,
      "A cannot write B's idempotency records",
    );
    await client.query('ROLLBACK');
    await assert.rejects(client.query(`INSERT INTO registry.trust_domains (id) VALUES ('td-x')`), /permission denied/);
    const role = await client.query(`SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user`);
    assert.deepEqual(role.rows[0], { rolbypassrls: false, rolsuper: false });
  } finally {
    await client.end();
  }
});

// Key-manager sections of managed deployments over REST (real NATS + Postgres): the operator's
// policy (path roots per organization, webhook URL allow-list) refuses hostile documents with
// the failing field and appends nothing; a bearer token is never stored: without a signer to
// seal it the write is 503 and nothing is appended, and validate-only shows a pending reference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_TOKEN_REF } from './config-sections/section-validators.js';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

const TOKEN = 'never-stored-3c9e1a77f0';
let h: RegistryHarness;
let a: { id: string; token: string };
let b: { id: string; token: string };
let managed: string;
let selfHosted: string;

before(async () => {
  h = await startRegistryHarness('km_policy', {
    TP_REGISTRY_KM_PATH_ROOTS: '/var/lib/tp/tenants/{tenant},/etc/tp/ca',
    TP_REGISTRY_KM_WEBHOOK_URLS: 'https://kms.internal:8443/v1',
    TP_REGISTRY_SIGNER_TIMEOUT_MS: '300',
  });
  a = await h.organization('Org A');
  b = await h.organization('Org B');
  assert.equal((await call(h.url, 'POST', '/api/v1/trust-domains', { token: a.token, body: { name: 'managed.example' } })).status, 201);
  managed = (await call(h.url, 'GET', '/api/v1/trust-domains/managed.example?showDeployments=true', { token: a.token })).json.deploymentList[0].id;
  await call(h.url, 'POST', '/api/v1/trust-domains', { token: a.token, body: { name: 'own.example', kind: 'self-hosted' } });
  selfHosted = (await call(h.url, 'POST', '/api/v1/trust-domains/own.example/deployments', { token: a.token, body: { name: 'dc-1' } })).json.id;
});
after(async () => h.close());

const km = (deployment: string) => `/api/v1/config/trust-domain-deployment/${deployment}/key-manager`;
const put = (deployment: string, spec: Record<string, unknown>, query = '') => call(h.url, 'PUT', `${km(deployment)}${query}`, { token: a.token, body: { schema: 'v1', spec } });

test('a managed deployment: paths inside its organization root and allowed webhook URLs are stored', async () => {
  const disk = { kind: 'disk', dir: `/var/lib/tp/tenants/${a.id}/keys`, kekPath: `/var/lib/tp/tenants/${a.id}/kek` };
  const stored = await put(managed, disk);
  assert.equal(stored.status, 200, JSON.stringify(stored.json));
  assert.deepEqual(stored.json.spec, disk);
  const webhook = { kind: 'webhook', webhookURL: 'https://kms.internal:8443/v1/org-a', caCertPath: '/etc/tp/ca/kms.pem' };
  assert.equal((await put(managed, webhook)).status, 200);
});

test('hostile documents for a managed deployment are refused with the field, and nothing is appended', async () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ kind: 'disk', dir: '/etc', kekPath: `/var/lib/tp/tenants/${a.id}/kek` }, 'spec.dir', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'disk', dir: `/var/lib/tp/tenants/${a.id}/../${b.id}/keys`, kekPath: `/var/lib/tp/tenants/${a.id}/kek` }, 'spec.dir', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'disk', dir: `/var/lib/tp/tenants/${b.id}/keys`, kekPath: `/var/lib/tp/tenants/${a.id}/kek` }, 'spec.dir', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'disk', dir: 'keys', kekPath: `/var/lib/tp/tenants/${a.id}/kek` }, 'spec.dir', 'CONFIG_INVALID'],
    [{ kind: 'disk', dir: `/var/lib/tp/tenants/${a.id}/keys`, kekPath: '/root/.kek' }, 'spec.kekPath', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'https://kms.internal:8443/v1', authType: 'bearer', tokenPath: '/etc/shadow' }, 'spec.tokenPath', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'https://evil.example/v1' }, 'spec.webhookURL', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'https://kms.internal:8443/v1evil' }, 'spec.webhookURL', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'https://169.254.169.254/latest' }, 'spec.webhookURL', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'file:///etc/passwd' }, 'spec.webhookURL', 'CONFIG_INVALID'],
    [{ kind: 'webhook', webhookURL: 'https://kms.internal:8443@evil.example/v1' }, 'spec.webhookURL', 'CONFIG_INVALID'],
    [{ kind: 'webhook', webhookURL: 'http://kms.internal:8443/v1', allowInsecureForTests: true }, 'spec.allowInsecureForTests', 'CONFIG_NOT_ALLOWED'],
    [{ kind: 'webhook', webhookURL: 'https://kms.internal:8443/v1', tokenRef: 'sec-nope' }, 'spec.tokenRef', 'CONFIG_INVALID'],
    [{ kind: 'disk', dir: `/var/lib/tp/tenants/${a.id}/keys`, kekPath: `/var/lib/tp/tenants/${a.id}/kek`, tokenRef: 'sec-00000000000000000001' }, 'spec.tokenRef', 'CONFIG_INVALID'],
  ];
  const before = await h.log.lastSequence();
  for (const [spec, field, code] of cases) {
    const refused = await put(managed, spec);
    assert.equal(refused.status, 400, `${JSON.stringify(spec)}: ${JSON.stringify(refused.json)}`);
    const problem = (refused.json.errors as { field: string; code: string }[]).find((e) => e.field === field);
    assert.equal(problem?.code, code, `${JSON.stringify(spec)}: ${JSON.stringify(refused.json.errors)}`);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
});

test('a self-hosted deployment is its operator\'s own: paths anywhere, but no token through the API', async () => {
  assert.equal((await put(selfHosted, { kind: 'disk', dir: '/srv/keys', kekPath: '/srv/kek' })).status, 200);
  const token = await put(selfHosted, { kind: 'webhook', webhookURL: 'https://kms.example', authType: 'bearer', token: TOKEN });
  assert.equal(token.status, 400);
  assert.equal(token.json.errors[0].field, 'spec.token');
});

test('a bearer token is never stored: validate-only shows a pending reference, and without a signer to seal it the write is 503 with nothing appended', async () => {
  const webhook = { kind: 'webhook', webhookURL: 'https://kms.internal:8443/v1', authType: 'bearer', token: TOKEN, caCertPath: '/etc/tp/ca/kms.pem' };
  const before = await h.log.lastSequence();
  const checked = await put(managed, webhook, '?validateOnly=true');
  assert.equal(checked.status, 200, JSON.stringify(checked.json));
  assert.equal(checked.json.spec.tokenRef, PENDING_TOKEN_REF);
  assert.equal(checked.json.spec.token, undefined);
  const unsealed = await put(managed, webhook);
  assert.equal(unsealed.status, 503, JSON.stringify(unsealed.json));
  assert.equal(unsealed.json.code, 'SIGNER_UNAVAILABLE');
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
  // A document that is refused is refused before anything is sent to be sealed.
  const refused = await put(managed, { ...webhook, webhookURL: 'https://evil.example/' });
  assert.equal(refused.status, 400);
  const events = await h.log.readAggregate({ tenant: a.id, aggregateType: 'configsection', aggregateId: `${managed}_key-manager` });
  assert.ok(!JSON.stringify(events).includes(TOKEN), 'the token is in no event');
  const rows = await h.db.pool.query('SELECT * FROM registry.config_sections');
  assert.ok(!JSON.stringify(rows.rows).includes(TOKEN), 'nor in any row');
});

// Lists as an operator reads them, against real NATS + Postgres: ordered by name (resource ids are
// random), with keyset cursors that stay correct while items are added and removed between
// pages; the counts a list shows match the resource (a cluster's config versions, a deployment's
// active keys counted from the signer's `ca` events, which refuse a deletion without --force).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { accept, uuidv7, type CaEvent, type Decider } from '@trustplane/events';
import { handleCommand, type CommandContext } from '@trustplane/eventstore';
import { call, startRegistryHarness, type ApiResponse, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let token: string;
before(async () => {
  h = await startRegistryHarness('lists');
  token = (await h.organization('Lists')).token;
});
after(async () => h.close());

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> => call(h.url, method, path, { token, ...(body === undefined ? {} : { body }) });

/** Every page of a list, `limit` at a time; `between` runs after each page but the last. */
async function pages(path: string, limit: number, between: (page: number) => Promise<void> = async () => undefined): Promise<string[][]> {
  const seen: string[][] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${separator}limit=${limit}${cursor === null ? '' : `&after=${cursor}`}`);
    assert.equal(page.status, 200, JSON.stringify(page.json));
    seen.push(page.json.items.map((item: { name?: string; spiffeId?: string }) => item.name ?? item.spiffeId));
    cursor = page.json.nextCursor;
    if (cursor !== null) await between(seen.length);
  } while (cursor !== null);
  return seen;
}

async function created(path: string, body: unknown): Promise<ApiResponse> {
  const response = await api('POST', path, body);
  assert.equal(response.status, 201, JSON.stringify(response.json));
  return response;
}

test('trust domains are listed by name, page after page, however their random ids sort', async () => {
  const names = ['mango.example', 'apple.example', 'kiwi.example', 'banana.example', 'cherry.example'];
  for (const name of names) await created('/api/v1/trust-domains', { name });
  const all = await api('GET', '/api/v1/trust-domains');
  assert.deepEqual(all.json.items.map((t: { name: string }) => t.name), [...names].sort());
  assert.deepEqual((await pages('/api/v1/trust-domains', 2)).flat(), [...names].sort());
});

test('cursors stay correct while the list changes between pages: nothing skipped, nothing repeated', async () => {
  const path = '/api/v1/trust-domains/apple.example/clusters';
  for (const name of ['delta', 'alpha', 'echo', 'charlie', 'bravo']) await created(path, { name, platform: 'linux' });
  const seen = await pages(path, 2, async (page) => {
    if (page !== 1) return;
    // After the page [alpha, bravo]: one name sorts before the cursor, one after it, and the
    // item the cursor points at is deleted.
    await created(path, { name: 'aardvark', platform: 'linux' });
    await created(path, { name: 'foxtrot', platform: 'linux' });
    assert.equal((await api('POST', `${path}/bravo/disable`, {})).status, 200);
    assert.equal((await api('DELETE', `${path}/bravo`)).status, 204);
  });
  assert.deepEqual(seen, [['alpha', 'bravo'], ['charlie', 'delta'], ['echo', 'foxtrot']]);
});

test('entries are listed by SPIFFE ID and deployments by name', async () => {
  for (const path of ['/zeta', '/alpha/b', '/alpha', '/mid']) {
    await created('/api/v1/trust-domains/kiwi.example/entries', { spiffeId: `spiffe://kiwi.example${path}`, parentId: 'spiffe://kiwi.example/agent/c/n', selectors: ['unix:uid:1'] });
  }
  const expected = ['/alpha', '/alpha/b', '/mid', '/zeta'].map((p) => `spiffe://kiwi.example${p}`);
  assert.deepEqual((await pages('/api/v1/trust-domains/kiwi.example/entries', 3)).flat(), expected);

  await created('/api/v1/trust-domains', { name: 'regions.example', kind: 'self-hosted' });
  for (const name of ['us-west', 'ap-south', 'eu-central']) await created('/api/v1/trust-domains/regions.example/deployments', { name });
  assert.deepEqual((await pages('/api/v1/trust-domains/regions.example/deployments', 2)).flat(), ['ap-south', 'eu-central', 'us-west']);
  const info = await api('GET', '/api/v1/trust-domains/regions.example?showDeployments=true');
  assert.deepEqual(info.json.deploymentList.map((d: { name: string }) => d.name), ['ap-south', 'eu-central', 'us-west']);
});

test('the cluster list shows the config versions the cluster has (oldest first, as one cluster shows them)', async () => {
  const path = '/api/v1/trust-domains/banana.example/clusters';
  await created(path, { name: 'versioned', platform: 'k8s' });
  await created(path, { name: 'plain', platform: 'k8s' });
  const first = await api('POST', `${path}/versioned/config-versions`, { config: { logLevel: 'info' } });
  assert.ok([200, 201].includes(first.status), JSON.stringify(first.json));
  await api('POST', `${path}/versioned/config-versions`, { config: { logLevel: 'debug' } });
  const one = await api('GET', `${path}/versioned`);
  assert.equal(one.json.configVersions.length, 2);
  const listed = (await api('GET', path)).json.items as { name: string; configVersions: { id: string; createdAt: string }[] }[];
  assert.deepEqual(
    listed.map((c) => [c.name, c.configVersions.length]),
    [['plain', 0], ['versioned', 2]],
  );
  assert.deepEqual(listed.find((c) => c.name === 'versioned')?.configVersions, one.json.configVersions);
  const times = one.json.configVersions.map((v: { createdAt: string }) => v.createdAt);
  assert.deepEqual([...times].sort(), times, 'oldest first');
});

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'service', id: 'signer' }, correlationId: id, causationId: id, now: new Date() };
}

/** Appends a `ca` event of a deployment as the signer does (public facts only; fields the registry ignores are placeholders). */
async function caEvent(tenant: string, deploymentId: string, event: CaEvent): Promise<void> {
  const raw: Decider<object, object, CaEvent> = { aggregateType: 'ca', initialState: () => ({}), evolve: (state) => state, decide: () => accept(event) };
  await handleCommand(h.log, raw, { tenant, aggregateType: 'ca', aggregateId: deploymentId }, {}, context());
}

function prepared(trustDomainId: string, keysetId: string): CaEvent {
  const now = new Date().toISOString();
  return {
    type: 'ca.keyset_prepared',
    schemaVersion: 1,
    data: {
      trustDomainId,
      trustDomain: 'cherry.example',
      keysetId,
      keyType: 'ec-p256',
      notBefore: now,
      notAfter: new Date(Date.now() + 86_400_000).toISOString(),
      maxX509SvidTtlSeconds: 3600,
      maxJwtSvidTtlSeconds: 300,
      preparedAt: now,
      x509: { keyHandle: `x509-${keysetId}`, certificate: 'AA==', subjectKeyId: '00', publicKey: 'AA==', serialNumber: '01' },
      jwt: { keyHandle: `jwt-${keysetId}`, keyId: keysetId, publicKey: 'AA==' },
    },
  };
}

function activated(trustDomainId: string, keysetId: string, previousKeysetId: string | null, reason: 'initial' | 'rotation' | 'taint'): CaEvent {
  return { type: 'ca.keyset_activated', schemaVersion: 1, data: { trustDomainId, keysetId, previousKeysetId, reason, activatedAt: new Date().toISOString() } };
}

async function activeKeys(td: string): Promise<number[]> {
  const listed = await api('GET', `/api/v1/trust-domains/${td}/deployments`);
  return listed.json.items.map((d: { activeKeys: number }) => d.activeKeys);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out: ${what}`);
}

test("a deployment's active keys are its keysets that sign now: 0 before the first CA, 1 through rotations, 0 once the active one is tainted", async () => {
  const organization = (await api('GET', '/api/v1/organization')).json.id as string;
  const td = (await api('GET', '/api/v1/trust-domains/cherry.example?showDeployments=true')).json;
  const deploymentId = td.deploymentList[0].id as string;
  assert.deepEqual(await activeKeys('cherry.example'), [0]);
  await caEvent(organization, deploymentId, prepared(td.id, 'ks-1'));
  await caEvent(organization, deploymentId, activated(td.id, 'ks-1', null, 'initial'));
  await until('one active keyset', async () => (await activeKeys('cherry.example'))[0] === 1);
  await caEvent(organization, deploymentId, prepared(td.id, 'ks-2'));
  await caEvent(organization, deploymentId, activated(td.id, 'ks-2', 'ks-1', 'rotation'));
  await caEvent(organization, deploymentId, prepared(td.id, 'ks-3'));
  const settled = await api('GET', `/api/v1/trust-domains/cherry.example/deployments/${deploymentId}`);
  assert.equal(settled.json.activeKeys, 1, 'the old keyset and the prepared one do not sign');
  await caEvent(organization, deploymentId, { type: 'ca.keyset_tainted', schemaVersion: 1, data: { trustDomainId: td.id, keysetId: 'ks-2', previousStatus: 'active', taintedAt: new Date().toISOString() } });
  await until('no active keyset', async () => (await activeKeys('cherry.example'))[0] === 0);
  await caEvent(organization, deploymentId, activated(td.id, 'ks-3', null, 'taint'));
  await until('one active keyset again', async () => (await activeKeys('cherry.example'))[0] === 1);
});

test('a self-hosted deployment whose keys are active is deleted only with force', async () => {
  const organization = (await api('GET', '/api/v1/organization')).json.id as string;
  const deployment = (await api('GET', '/api/v1/trust-domains/regions.example/deployments')).json.items[0] as { id: string; trustDomainId: string };
  await caEvent(organization, deployment.id, prepared(deployment.trustDomainId, 'ks-a'));
  await caEvent(organization, deployment.id, activated(deployment.trustDomainId, 'ks-a', null, 'initial'));
  const path = `/api/v1/trust-domains/regions.example/deployments/${deployment.id}`;
  await until('the key is active', async () => (await api('GET', path)).json.activeKeys === 1);
  const before = await h.log.lastSequence();
  const refused = await api('DELETE', path);
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.equal(refused.json.code, 'DEPLOYMENT_HAS_ACTIVE_KEYS');
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
  assert.equal((await api('DELETE', `${path}?force=true`)).status, 204);
});

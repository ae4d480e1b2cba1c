// Keyset routes against a small FAKE signer: a NATS subscriber in this test answering the
// libs/signer-api contract. It stands in for services/signer (tested end to end elsewhere) so
// that routing, tenant isolation, error mapping and the 503 are checked here on their own.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Subscription } from '@nats-io/transport-node';
import { SIGNER_QUEUE_GROUP, signerSubject, type KeysetReply, type KeysetRequest, type KeysetView } from '@trustplane/signer-api';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let a: { id: string; token: string };
let b: { id: string; token: string };
let aDeployment: string;
let bDeployment: string;
let requests: KeysetRequest[] = [];
let signer: Subscription | undefined;

/** The fake signer's keysets per `${tenant}/${deploymentId}`. */
const store = new Map<string, KeysetView[]>();
let counter = 0;

function keysetOf(id: string): KeysetView {
  const at = new Date(Date.UTC(2030, 0, 1, 0, counter)).toISOString();
  return {
    id,
    state: 'prepared',
    keyType: 'ec-p256',
    x509: { notBefore: at, notAfter: '2030-01-02T00:00:00.000Z', skid: `skid-${id}` },
    jwt: { kid: `kid-${id}`, notAfter: '2030-01-02T00:00:00.000Z' },
    preparedAt: at,
    activatedAt: null,
  };
}

/** The contract's rules, reduced to what the registry's mapping needs. */
function answer(request: KeysetRequest): KeysetReply {
  const key = `${request.authority.tenant}/${request.deploymentId}`;
  const keysets = store.get(key) ?? [];
  const fail = (status: 400 | 404 | 409, code: string, message: string): KeysetReply => ({ ok: false, error: { status, code, message } });
  const target = keysets.find((k) => k.id === request.keysetId);
  const replace = (next: KeysetView): void => void store.set(key, keysets.map((k) => (k.id === next.id ? next : k)));
  switch (request.op) {
    case 'list':
      break;
    case 'prepare':
      counter += 1;
      store.set(key, [...keysets, keysetOf(`ks-${String(counter).padStart(4, '0')}`)]);
      break;
    case 'activate':
      if (target === undefined) return fail(404, 'KEYSET_NOT_FOUND', `keyset ${request.keysetId} not found`);
      if (target.state !== 'prepared') return fail(409, 'KEYSET_NOT_PREPARED', `keyset ${target.id} is ${target.state}`);
      replace({ ...target, state: 'active', activatedAt: '2030-01-01T01:00:00.000Z' });
      break;
    case 'taint':
      if (target === undefined) return fail(404, 'KEYSET_NOT_FOUND', `keyset ${request.keysetId} not found`);
      replace({ ...target, state: 'tainted' });
      break;
    case 'revoke':
      if (target === undefined) return fail(404, 'KEYSET_NOT_FOUND', `keyset ${request.keysetId} not found`);
      if (target.state !== 'tainted') return fail(409, 'KEYSET_NOT_TAINTED', `keyset ${target.id} must be tainted first`);
      replace({ ...target, state: 'revoked' });
      break;
  }
  return { ok: true, keysets: store.get(key) ?? [] };
}

function startFakeSigner(respond: (request: KeysetRequest) => string | undefined = (r) => JSON.stringify(answer(r))): void {
  signer = h.nc.subscribe(signerSubject(h.stream.subjectPrefix, 'keyset'), {
    queue: SIGNER_QUEUE_GROUP,
    callback: (_error, message) => {
      const request = JSON.parse(new TextDecoder().decode(message.data)) as KeysetRequest;
      requests.push(request);
      const reply = respond(request);
      if (reply !== undefined) message.respond(reply);
    },
  });
}

async function stopFakeSigner(): Promise<void> {
  await signer?.drain();
  signer = undefined;
  await h.nc.flush();
}

async function deploymentOf(token: string, td: string): Promise<string> {
  const created = await call(h.url, 'POST', '/api/v1/trust-domains', { token, body: { name: td } });
  assert.equal(created.status, 201);
  const info = await call(h.url, 'GET', `/api/v1/trust-domains/${td}?showDeployments=true`, { token });
  return info.json.deploymentList[0].id;
}

before(async () => {
  h = await startRegistryHarness('keysets', { TP_REGISTRY_SIGNER_TIMEOUT_MS: '400' });
  a = await h.organization('Org A');
  b = await h.organization('Org B');
  aDeployment = await deploymentOf(a.token, 'a.example');
  bDeployment = await deploymentOf(b.token, 'b.example');
});
after(async () => {
  await stopFakeSigner();
  await h.close();
});
beforeEach(async () => {
  requests = [];
  await stopFakeSigner();
  startFakeSigner();
  await h.nc.flush();
});

const base = () => `/api/v1/trust-domains/a.example/deployments/${aDeployment}/keysets`;

test("prepare, activate, taint, revoke and list reach the signer with the caller's tenant and deployment", async () => {
  const empty = await call(h.url, 'GET', base(), { token: a.token });
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { items: [], nextCursor: null });
  const prepared = await call(h.url, 'POST', base(), { token: a.token });
  assert.equal(prepared.status, 201, JSON.stringify(prepared.json));
  const id: string = prepared.json.keyset.id;
  assert.equal(prepared.json.keyset.state, 'prepared');
  assert.equal(prepared.json.keysets.length, 1);
  for (const [action, state] of [
    ['activate', 'active'],
    ['taint', 'tainted'],
    ['revoke', 'revoked'],
  ] as const) {
    const acted = await call(h.url, 'POST', `${base()}/${id}/${action}`, { token: a.token, body: {} });
    assert.equal(acted.status, 200, `${action}: ${JSON.stringify(acted.json)}`);
    assert.equal(acted.json.keyset.id, id);
    assert.equal(acted.json.keyset.state, state);
  }
  const listed = await call(h.url, 'GET', base(), { token: a.token });
  assert.deepEqual(listed.json.items.map((k: KeysetView) => [k.id, k.state]), [[id, 'revoked']]);
  assert.deepEqual(
    requests.map((r) => [r.op, r.authority.tenant, r.deploymentId, r.keysetId]),
    [
      ['list', a.id, aDeployment, undefined],
      ['prepare', a.id, aDeployment, undefined],
      ['activate', a.id, aDeployment, id],
      ['taint', a.id, aDeployment, id],
      ['revoke', a.id, aDeployment, id],
      ['list', a.id, aDeployment, undefined],
    ],
  );
  // Every request carries the caller's authority: its organization, token id and scopes (never the secret).
  const tokenId = /^tp_(tok-[0-9a-z]{10})_/.exec(a.token)?.[1];
  for (const request of requests) {
    assert.deepEqual(request.authority, { kind: 'api-token', tenant: a.id, tokenId, scopes: ['admin'] });
    assert.ok(!JSON.stringify(request).includes(a.token.slice(-20)), 'no token secret on the bus');
  }
  // The trust domain may be named by id as well.
  const td = (await call(h.url, 'GET', '/api/v1/trust-domains/a.example', { token: a.token })).json.id;
  assert.equal((await call(h.url, 'GET', `/api/v1/trust-domains/${td}/deployments/${aDeployment}/keysets`, { token: a.token })).status, 200);
});

test("a signer refusal keeps its status and code as problem+json", async () => {
  const prepared = await call(h.url, 'POST', base(), { token: a.token });
  const id: string = prepared.json.keyset.id;
  const cases: [string, number, string][] = [
    [`${base()}/ks-unknown/activate`, 404, 'KEYSET_NOT_FOUND'],
    [`${base()}/${id}/revoke`, 409, 'KEYSET_NOT_TAINTED'],
  ];
  for (const [path, status, code] of cases) {
    const refused = await call(h.url, 'POST', path, { token: a.token });
    assert.equal(refused.status, status, JSON.stringify(refused.json));
    assert.equal(refused.json.code, code);
    assert.match(refused.type, /application\/problem\+json/);
  }
  const malformed = await call(h.url, 'POST', `${base()}/not.a.keyset/activate`, { token: a.token });
  assert.equal(malformed.status, 404);
  assert.equal(malformed.json.code, 'KEYSET_NOT_FOUND');
  const body = await call(h.url, 'POST', `${base()}/${id}/activate`, { token: a.token, body: { force: true } });
  assert.equal(body.status, 400);
  assert.equal(body.json.code, 'VALIDATION_FAILED');
  assert.ok(requests.every((r) => r.keysetId !== 'not.a.keyset'), 'malformed ids never reach the signer');
});

test("org B cannot list or act on org A's deployment; the signer never hears of it", async () => {
  const paths: [string, string][] = [
    ['GET', `/api/v1/trust-domains/a.example/deployments/${aDeployment}/keysets`],
    ['POST', `/api/v1/trust-domains/a.example/deployments/${aDeployment}/keysets`],
    ['POST', `/api/v1/trust-domains/b.example/deployments/${aDeployment}/keysets`],
    ['POST', `/api/v1/trust-domains/b.example/deployments/${aDeployment}/keysets/ks-0001/activate`],
    ['POST', `/api/v1/trust-domains/b.example/deployments/${aDeployment}/keysets/ks-0001/revoke`],
    ['GET', `/api/v1/trust-domains/a.example/deployments/${bDeployment}/keysets`],
  ];
  for (const [method, path] of paths) {
    const refused = await call(h.url, method, path, { token: b.token });
    assert.equal(refused.status, 404, `${method} ${path}: ${JSON.stringify(refused.json)}`);
    assert.match(refused.json.code, /^(TRUST_DOMAIN|DEPLOYMENT)_NOT_FOUND$/);
  }
  assert.equal(requests.length, 0, JSON.stringify(requests));
  const own = await call(h.url, 'GET', `/api/v1/trust-domains/b.example/deployments/${bDeployment}/keysets`, { token: b.token });
  assert.equal(own.status, 200);
  assert.deepEqual(requests.map((r) => r.authority.tenant), [b.id]);
});

test('scopes: trust-domains:read lists, only trust-domains:write acts', async () => {
  const reader = await call(h.url, 'POST', '/api/v1/tokens', { token: a.token, body: { name: 'reader', scopes: ['trust-domains:read'] } });
  assert.equal((await call(h.url, 'GET', base(), { token: reader.json.token })).status, 200);
  const refused = await call(h.url, 'POST', base(), { token: reader.json.token });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'INSUFFICIENT_SCOPE');
});

async function signerFailures(operation: string, reason: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tp_registry_signer_call_failures_total{') && l.includes(`operation="${operation}"`) && l.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('no signer answering is 503 SIGNER_UNAVAILABLE: no responders, and a signer that stays silent; each cause is logged and counted', async () => {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = h.server.logger;
  const warn = logger.warn;
  logger.warn = ((obj: Record<string, unknown>, msg: string) => void warnings.push({ obj, msg })) as typeof logger.warn;
  try {
    await stopFakeSigner();
    const noRespondersBefore = await signerFailures('keyset', 'no_responders');
    const noResponders = await call(h.url, 'GET', base(), { token: a.token });
    assert.equal(noResponders.status, 503, JSON.stringify(noResponders.json));
    assert.equal(noResponders.json.code, 'SIGNER_UNAVAILABLE');
    assert.equal(await signerFailures('keyset', 'no_responders'), noRespondersBefore + 1);
    startFakeSigner(() => undefined);
    await h.nc.flush();
    const timeoutsBefore = await signerFailures('keyset', 'timeout');
    const started = Date.now();
    const silent = await call(h.url, 'POST', base(), { token: a.token });
    assert.equal(silent.status, 503);
    assert.equal(silent.json.code, 'SIGNER_UNAVAILABLE');
    assert.ok(Date.now() - started >= 350, 'waited for the configured timeout');
    assert.equal(await signerFailures('keyset', 'timeout'), timeoutsBefore + 1);
    const logged = warnings.filter((w) => w.msg === 'signer request got no answer');
    assert.deepEqual(logged.map((w) => w.obj['reason']), ['no_responders', 'timeout']);
    assert.ok(logged.every((w) => w.obj['err'] instanceof Error), 'the cause itself is logged');
  } finally {
    logger.warn = warn;
  }
});

test('a signer error without detail and a reply outside the contract are 500s with stable codes', async () => {
  await stopFakeSigner();
  startFakeSigner(() => '{"ok":"maybe"}');
  await h.nc.flush();
  const bad = await call(h.url, 'GET', base(), { token: a.token });
  assert.equal(bad.status, 500);
  assert.equal(bad.json.code, 'SIGNER_BAD_REPLY');
  await stopFakeSigner();
  startFakeSigner(() => JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: 'internal error', status: 500 } }));
  await h.nc.flush();
  const failed = await call(h.url, 'POST', base(), { token: a.token });
  assert.equal(failed.status, 500);
  assert.equal(failed.json.code, 'INTERNAL');
});

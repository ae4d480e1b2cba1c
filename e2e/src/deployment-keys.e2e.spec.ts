// Deployment keys and the credential exchange across real processes: a registry (which forwards
// the auth routes) and two auth replicas on one PostgreSQL database and one JetStream log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  AuthClientError,
  controlPlaneJwks,
  fetchControlPlaneCredential,
  signDeploymentAssertion,
  verifyControlPlaneCredential,
} from '@trustplane/auth-client';
import { auditStreamName } from '@trustplane/bus';
import { compareProjection, dropRebuildSchema, EventLog, rebuildProjection } from '@trustplane/eventstore';
import { authProjections } from '@trustplane/auth';
import { registryProjections } from '@trustplane/registry';
import { bootstrapOrganization, bootstrapToken } from '@trustplane/registry';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  repoRoot,
  startServiceProcess,
  testAuthEnv,
  testNatsEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

const CREDENTIAL_TTL_SECONDS = 4;

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let registry: RunningService;
let authA: RunningService;
let authB: RunningService;
let registryEnv: Record<string, string>;
const orgs: { a?: { id: string; token: string }; b?: { id: string; token: string } } = {};

interface Answer {
  readonly status: number;
  readonly type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', json };
}

function authEnv(port: number): Record<string, string> {
  return testAuthEnv(db, stream, port, { TP_AUTH_CREDENTIAL_TTL_SECONDS: String(CREDENTIAL_TTL_SECONDS), TP_LOG_LEVEL: 'info' });
}

/** Every stored event, as text (to look for private keys). */
async function logText(): Promise<string> {
  const jsm = await jetstreamManager(nc);
  let text = '';
  for (let seq = 1; seq <= (await log.lastSequence()); seq++) {
    const message = await jsm.streams.getMessage(stream.streamName, { seq }).catch(() => null);
    if (message !== null) text += new TextDecoder().decode(message.data) + '\n';
  }
  return text;
}

/** Rows the exchange writes, and the log's length: a refusal must change none of them. */
async function footprint(): Promise<{ spent: number; usage: string; logSeq: number }> {
  const spent = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM auth.used_assertions');
  const usage = await db.pool.query('SELECT key_id, last_used_at FROM auth.key_usage ORDER BY key_id');
  return { spent: Number(spent.rows[0]?.n), usage: JSON.stringify(usage.rows), logSeq: await log.lastSequence() };
}

async function organization(name: string): Promise<{ id: string; token: string }> {
  const org = await bootstrapOrganization(registryEnv, name);
  const token = await bootstrapToken(registryEnv, { organizationId: org.id, name: 'test', scopes: ['admin'] });
  // Both the registry and the auth service must have projected the token.
  await eventually(async () => (await call(registry.url, 'GET', '/api/v1/organization', { token: token.token })).status === 200, 20_000, 'registry token');
  await eventually(async () => (await call(authA.url, 'GET', '/api/v1/trust-domains/none/deployments/none/keys', { token: token.token })).status === 404, 20_000, 'auth token');
  return { id: org.id, token: token.token };
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_deployment_keys');
  stream = testStreamSettings('e2e_deployment_keys');
  const [registryPort, portA, portB] = [await freePort(), await freePort(), await freePort()];
  authA = await startServiceProcess('auth', authEnv(portA), portA);
  authB = await startServiceProcess('auth', authEnv(portB), portB);
  registryEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(registryPort),
    TP_REGISTRY_AUTH_URL: authA.url,
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startServiceProcess('registry', registryEnv, registryPort);
  log = await EventLog.open(nc, stream);
  orgs.a = await organization('keys-a');
  orgs.b = await organization('keys-b');
});

after(async () => {
  for (const service of [registry, authA, authB]) {
    if (service !== undefined) assert.equal(await service.stop(), 0, `graceful shutdown: ${service.output().slice(-2000)}`);
  }
  await deleteTestStream(nc, auditStreamName(stream.streamName));
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

/** A self-hosted trust domain with one deployment, created through the registry. */
async function selfHosted(token: string, name: string, deployment = 'us-east'): Promise<{ td: string; d: string }> {
  const td = await call(registry.url, 'POST', '/api/v1/trust-domains', { token, body: { name, kind: 'self-hosted' } });
  assert.equal(td.status, 201, JSON.stringify(td.json));
  const d = await call(registry.url, 'POST', `/api/v1/trust-domains/${name}/deployments`, { token, body: { name: deployment } });
  assert.equal(d.status, 201, JSON.stringify(d.json));
  // The auth service knows the deployment once it has projected it.
  await eventually(async () => (await call(authA.url, 'GET', `/api/v1/trust-domains/${name}/deployments/${deployment}/keys`, { token })).status === 200, 20_000, 'deployment in auth');
  return { td: td.json.id, d: d.json.id };
}

function keysPath(td: string, d: string): string {
  return `/api/v1/trust-domains/${td}/deployments/${d}/keys`;
}

test('a key is created through the registry: the private key is returned once and stored nowhere; several keys are active at once', async () => {
  const { token } = orgs.a!;
  const { td, d } = await selfHosted(token, 'keys.example.org');
  const created = await call(registry.url, 'POST', keysPath('keys.example.org', 'us-east'), { token, headers: { 'idempotency-key': 'key-1' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.match(created.json.id, /^tdk-[0-9a-z]{10}$/);
  assert.equal(created.json.state, 'active');
  assert.equal(created.json.deploymentId, d);
  assert.equal(created.json.deploymentName, 'us-east');
  assert.equal(created.json.trustDomainId, td);
  assert.equal(created.json.trustDomainName, 'keys.example.org');
  assert.match(created.json.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.match(created.json.fingerprint, /^[0-9a-f]{64}$/);

  const replay = await call(registry.url, 'POST', keysPath('keys.example.org', 'us-east'), { token, headers: { 'idempotency-key': 'key-1' } });
  assert.equal(replay.status, 409);
  assert.equal(replay.json.code, 'SECRET_SHOWN_ONCE');
  assert.equal(replay.json.resource.id, created.json.id);
  assert.equal(JSON.stringify(replay.json).includes('PRIVATE KEY'), false);

  const second = await call(registry.url, 'POST', keysPath(td, d), { token });
  assert.equal(second.status, 201);
  const list = await call(registry.url, 'GET', keysPath(td, d), { token });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.items.map((k: { id: string }) => k.id).sort(), [created.json.id, second.json.id].sort());
  assert.ok(list.json.items.every((k: { state: string; lastUsedAt: unknown }) => k.state === 'active' && k.lastUsedAt === null));
  assert.equal(JSON.stringify(list.json).includes('PRIVATE KEY'), false);

  // Neither private key is in the log, a database row or a log line of any process.
  const body = created.json.privateKeyPem.split('\n')[1] as string;
  const secondBody = second.json.privateKeyPem.split('\n')[1] as string;
  const events = await logText();
  assert.ok(events.includes('deploymentkey.created'));
  const dump = await db.pool.query(`SELECT string_agg(t::text, '\n') AS all FROM (
      SELECT to_jsonb(k)::text AS t FROM auth.deployment_keys k UNION ALL SELECT to_jsonb(i)::text FROM auth.idempotency_keys i
      UNION ALL SELECT to_jsonb(r)::text FROM registry.deployment_keys r) x`);
  for (const secret of [body, secondBody]) {
    assert.equal(events.includes(secret), false, 'private key in the event log');
    assert.equal(String(dump.rows[0]?.all).includes(secret), false, 'private key in a row');
    for (const service of [registry, authA, authB]) assert.equal(service.output().includes(secret), false, 'private key in a log');
  }
  // Both keys exchange.
  for (const key of [created.json, second.json]) {
    const credential = await fetchControlPlaneCredential(registry.url, { privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d });
    assert.equal(credential.deploymentId, d);
  }
});

test('the exchange issues a credential any replica can verify; a jti is single use across replicas; every hostile assertion is a typed 401 that writes nothing', async () => {
  const { token, id: orgId } = orgs.a!;
  const { td, d } = await selfHosted(token, 'exchange.example.org');
  const other = await selfHosted(token, 'other.example.org');
  const key = (await call(registry.url, 'POST', keysPath(td, d), { token })).json;
  const otherKey = (await call(registry.url, 'POST', keysPath(other.td, other.d), { token })).json;

  const credential = await fetchControlPlaneCredential(registry.url, { privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d });
  assert.deepEqual([credential.deploymentId, credential.trustDomainId, credential.organizationId], [d, td, orgId]);
  // Replica B verifies what replica A (behind the registry) signed: the JWKS holds every replica's key.
  const verified = await verifyControlPlaneCredential(credential.credential, controlPlaneJwks(authB.url));
  assert.deepEqual(verified, { deploymentId: d, trustDomainId: td, organizationId: orgId, keyId: key.id, expiresAt: credential.expiresAt });
  const lifetime = credential.expiresAt.getTime() - Date.now();
  assert.ok(lifetime <= CREDENTIAL_TTL_SECONDS * 1000 && lifetime > -5000, `credential lifetime ${lifetime} ms`);
  const listed = await call(registry.url, 'GET', keysPath(td, d), { token });
  assert.notEqual(listed.json.items[0].lastUsedAt, null);

  // One assertion, two replicas: the second exchange is refused.
  const assertion = signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d });
  const first = await call(authA.url, 'POST', '/api/v1/auth/deployment-credentials', { body: { assertion } });
  assert.equal(first.status, 200);
  const before = await footprint();
  const again = await call(authB.url, 'POST', '/api/v1/auth/deployment-credentials', { body: { assertion } });
  assert.equal(again.status, 401);
  assert.equal(again.json.code, 'ASSERTION_REPLAYED');

  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { iss: d, sub: d, aud: 'trustplane-control-plane', iat: now, exp: now + 60, jti: randomUUID() };
  const valid = signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d });
  const [vh, vc, vs] = valid.split('.') as [string, string, string];
  const tamperedClaims = b64({ ...JSON.parse(Buffer.from(vc, 'base64url').toString()), exp: now + 120 });
  const flipped = Buffer.from(vs, 'base64url');
  flipped[0] = (flipped[0] ?? 0) ^ 0x01;
  const hs256Header = b64({ alg: 'HS256', kid: key.id, typ: 'JWT' });
  const hs256Claims = b64(claims);
  const hs256 = `${hs256Header}.${hs256Claims}.${createHmac('sha256', key.publicKeyPem).update(`${hs256Header}.${hs256Claims}`).digest('base64url')}`;
  const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const hostile: [string, string, string][] = [
    ['expired', signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d, now: new Date(Date.now() - 3600_000), ttlSeconds: 300 }), 'ASSERTION_EXPIRED'],
    ['wrong audience', signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d, audience: 'someone-else' }), 'ASSERTION_AUDIENCE_INVALID'],
    ['alg none', `${b64({ alg: 'none', kid: key.id, typ: 'JWT' })}.${b64(claims)}.`, 'ASSERTION_MALFORMED'],
    ['alg none, signature kept', `${b64({ alg: 'none', kid: key.id, typ: 'JWT' })}.${vc}.${vs}`, 'ASSERTION_ALG_UNSUPPORTED'],
    ['HS256 keyed with the public key', hs256, 'ASSERTION_ALG_UNSUPPORTED'],
    ['unknown kid', signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: 'tdk-0000000000', deploymentId: d }), 'DEPLOYMENT_KEY_UNKNOWN'],
    ['kid of another key, own signature', signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: otherKey.id, deploymentId: other.d }), 'ASSERTION_SIGNATURE_INVALID'],
    ['key of another deployment', signDeploymentAssertion({ privateKeyPem: otherKey.privateKeyPem, keyId: otherKey.id, deploymentId: d }), 'ASSERTION_DEPLOYMENT_MISMATCH'],
    ['a stranger\'s key', signDeploymentAssertion({ privateKeyPem: stranger, keyId: key.id, deploymentId: d }), 'ASSERTION_SIGNATURE_INVALID'],
    ['tampered claims', `${vh}.${tamperedClaims}.${vs}`, 'ASSERTION_SIGNATURE_INVALID'],
    ['tampered signature', `${vh}.${vc}.${flipped.toString('base64url')}`, 'ASSERTION_SIGNATURE_INVALID'],
    ['lifetime over 300 s', signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d, now: new Date(Date.now() + 3600_000), ttlSeconds: 300 }), 'ASSERTION_NOT_YET_VALID'],
    ['not a JWS', 'not-a-jws', 'ASSERTION_MALFORMED'],
  ];
  for (const [what, hostileAssertion, code] of hostile) {
    for (const target of [authB.url, registry.url]) {
      const refused = await call(target, 'POST', '/api/v1/auth/deployment-credentials', { body: { assertion: hostileAssertion } });
      assert.equal(refused.status, 401, `${what}: ${JSON.stringify(refused.json)}`);
      assert.equal(refused.json.code, code, what);
      assert.match(refused.type, /application\/problem\+json/);
    }
  }
  const metrics = await (await fetch(`${authB.url}/metrics`)).text();
  assert.match(metrics, /tp_auth_credential_exchanges_total\{outcome="ASSERTION_REPLAYED"[^}]*\} [1-9]/);
  assert.match(metrics, /tp_auth_credential_exchanges_total\{outcome="ASSERTION_SIGNATURE_INVALID"[^}]*\} [1-9]/);
  const bad = await call(authA.url, 'POST', '/api/v1/auth/deployment-credentials', { body: { assertion: valid, extra: 1 } });
  assert.equal(bad.status, 400);
  assert.deepEqual(await footprint(), before, 'a refused exchange wrote something');

  // A credential signed elsewhere, or with alg none, is refused by the verifier with its code.
  const [ch, cc] = credential.credential.split('.') as [string, string, string];
  await assert.rejects(verifyControlPlaneCredential(`${b64({ alg: 'none', typ: 'JWT' })}.${cc}.`, controlPlaneJwks(authA.url)), (e) => e instanceof AuthClientError && e.code === 'CREDENTIAL_ALG_UNSUPPORTED');
  await assert.rejects(verifyControlPlaneCredential(`${ch}.${cc}.${flipped.toString('base64url')}`, controlPlaneJwks(authA.url)), (e) => e instanceof AuthClientError && e.code === 'CREDENTIAL_SIGNATURE_INVALID');
});

test('a disabled or deleted key is refused at the next exchange; a credential issued before stays valid until it expires', async () => {
  const { token } = orgs.a!;
  const { td, d } = await selfHosted(token, 'lifecycle.example.org');
  const key = (await call(registry.url, 'POST', keysPath(td, d), { token })).json;
  const exchange = (): Promise<unknown> => fetchControlPlaneCredential(authB.url, { privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d });
  const issued = (await exchange()) as { credential: string; expiresAt: Date };

  const notDisabled = await call(registry.url, 'DELETE', `${keysPath(td, d)}/${key.id}`, { token });
  assert.equal(notDisabled.status, 409);
  assert.equal(notDisabled.json.code, 'KEY_NOT_DISABLED');

  const disabled = await call(registry.url, 'POST', `${keysPath(td, d)}/${key.id}/disable`, { token });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.json.state, 'disabled');
  // The other replica refuses at once (it shares the read model's database).
  await assert.rejects(exchange(), (e) => e instanceof AuthClientError && e.serverCode === 'DEPLOYMENT_KEY_DISABLED');
  // The credential issued before still verifies, and only expiry ends it.
  const stillValid = await verifyControlPlaneCredential(issued.credential, controlPlaneJwks(authA.url));
  assert.equal(stillValid.keyId, key.id);
  await assert.rejects(
    verifyControlPlaneCredential(issued.credential, controlPlaneJwks(authA.url), { now: new Date(issued.expiresAt.getTime() + 31_000) }),
    (e) => e instanceof AuthClientError && e.code === 'CREDENTIAL_EXPIRED',
  );

  const enabled = await call(registry.url, 'POST', `${keysPath(td, d)}/${key.id}/enable`, { token });
  assert.equal(enabled.json.state, 'active');
  await exchange();
  await call(registry.url, 'POST', `${keysPath(td, d)}/${key.id}/disable`, { token });
  const deleted = await call(registry.url, 'DELETE', `${keysPath(td, d)}/${key.id}`, { token });
  assert.equal(deleted.status, 204);
  await assert.rejects(exchange(), (e) => e instanceof AuthClientError && e.serverCode === 'DEPLOYMENT_KEY_UNKNOWN');
  const gone = await call(registry.url, 'POST', `${keysPath(td, d)}/${key.id}/enable`, { token });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.code, 'DEPLOYMENT_KEY_NOT_FOUND');
});

test('a deployment with active keys is deleted only with force (409 names the keys); another organization sees 404 on every key route', async () => {
  const { token } = orgs.a!;
  const { td, d } = await selfHosted(token, 'cleanup.example.org');
  const key = (await call(registry.url, 'POST', keysPath(td, d), { token })).json;
  await eventually(async () => (await db.pool.query('SELECT 1 FROM registry.deployment_keys WHERE id = $1', [key.id])).rowCount === 1, 20_000, 'registry projects the key');

  const stranger = orgs.b!.token;
  const writesBefore = await log.lastSequence();
  for (const [method, path] of [
    ['GET', keysPath(td, d)],
    ['POST', keysPath(td, d)],
    ['GET', `${keysPath(td, d)}/${key.id}`],
    ['POST', `${keysPath(td, d)}/${key.id}/disable`],
    ['POST', `${keysPath(td, d)}/${key.id}/enable`],
    ['DELETE', `${keysPath(td, d)}/${key.id}`],
    ['GET', keysPath('cleanup.example.org', 'us-east')],
  ] as const) {
    for (const target of [registry.url, authA.url]) {
      const answer = await call(target, method, path, { token: stranger });
      assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.json)}`);
    }
  }
  assert.equal(await log.lastSequence(), writesBefore, 'a cross-tenant request wrote something');
  const anonymous = await call(registry.url, 'POST', keysPath(td, d));
  assert.equal(anonymous.status, 401);
  const readOnly = await bootstrapToken(registryEnv, { organizationId: orgs.a!.id, name: 'reader', scopes: ['trust-domains:read'] });
  await eventually(async () => (await call(authA.url, 'GET', keysPath(td, d), { token: readOnly.token })).status === 200, 20_000, 'reader token');
  const forbidden = await call(registry.url, 'POST', keysPath(td, d), { token: readOnly.token });
  assert.equal(forbidden.status, 403);

  // A managed deployment's server runs inside the installation: it gets no key.
  assert.equal((await call(registry.url, 'POST', '/api/v1/trust-domains', { token, body: { name: 'managed.example.org' } })).status, 201);
  const managed = (await call(registry.url, 'GET', '/api/v1/trust-domains/managed.example.org/deployments', { token })).json.items[0];
  await eventually(async () => (await call(authA.url, 'GET', keysPath('managed.example.org', managed.id), { token })).status === 200, 20_000, 'managed deployment in auth');
  const noKey = await call(registry.url, 'POST', keysPath('managed.example.org', managed.id), { token });
  assert.equal(noKey.status, 409);
  assert.equal(noKey.json.code, 'MANAGED_DEPLOYMENT');

  const refused = await call(registry.url, 'DELETE', `/api/v1/trust-domains/${td}/deployments/${d}`, { token });
  assert.equal(refused.status, 409);
  assert.equal(refused.json.code, 'DEPLOYMENT_HAS_ACTIVE_KEYS');
  assert.ok(refused.json.detail.includes(key.id), refused.json.detail);
  const forced = await call(registry.url, 'DELETE', `/api/v1/trust-domains/${td}/deployments/${d}?force=true`, { token });
  assert.equal(forced.status, 204);
  // Its keys stop working with it.
  await eventually(
    async () => (await call(authA.url, 'POST', '/api/v1/auth/deployment-credentials', { body: { assertion: signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: d }) } })).json?.code === 'DEPLOYMENT_KEY_UNKNOWN',
    20_000,
    'keys of a deleted deployment refused',
  );
});

test('killed right after the key is committed: the retry with the same Idempotency-Key is 409 SECRET_SHOWN_ONCE for that key, never a second key', async () => {
  const { token } = orgs.a!;
  const { td, d } = await selfHosted(token, 'crash.example.org');
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot(), 'services', 'auth', 'dist', 'testing', 'crash-after-append.js'), 'deploymentkey.created'], {
    env: { PATH: process.env['PATH'] ?? '', ...authEnv(port), TP_AUTH_IDEMPOTENCY_CLAIM_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await eventually(async () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false), 30_000, `crashing auth ready: ${output}`);
  const first = await call(`http://127.0.0.1:${port}`, 'POST', keysPath(td, d), { token, headers: { 'idempotency-key': 'crash-key' } }).catch(() => undefined);
  assert.equal(first, undefined, `the request was answered: ${JSON.stringify(first?.json)}`);
  assert.equal(await exited, 'SIGKILL');
  assert.equal(output.includes('PRIVATE KEY'), false);

  await new Promise((resolve) => setTimeout(resolve, 600));
  const retry = await call(registry.url, 'POST', keysPath(td, d), { token, headers: { 'idempotency-key': 'crash-key' } });
  assert.equal(retry.status, 409, JSON.stringify(retry.json));
  assert.equal(retry.json.code, 'SECRET_SHOWN_ONCE');
  const again = await call(registry.url, 'POST', keysPath(td, d), { token, headers: { 'idempotency-key': 'crash-key' } });
  assert.equal(again.json.code, 'SECRET_SHOWN_ONCE');
  const keys = (await call(registry.url, 'GET', keysPath(td, d), { token })).json.items as { id: string }[];
  assert.deepEqual(keys.map((k) => k.id), [retry.json.resource.id]);
  const created = (await logText()).split('\n').filter((line) => line.includes('deploymentkey.created') && line.includes(retry.json.resource.id));
  assert.equal(created.length, 1);
});

test('the auth read model and the registry\'s deployment keys rebuild from the log into identical rows', async () => {
  const targets = [
    ...authProjections.map((projection) => ({ projection, schema: 'auth' })),
    ...registryProjections.filter((p) => p.name === 'registry.deploymentkeys').map((projection) => ({ projection, schema: 'registry' })),
  ];
  for (const { projection, schema } of targets) {
    const target = `${schema}_rebuild_${Date.now().toString(36)}`;
    await rebuildProjection({ nc, pool: db.pool, stream, projection, liveSchema: schema, targetSchema: target });
    const comparison = await compareProjection(db.pool, projection, schema, target);
    await dropRebuildSchema(db.pool, target);
    assert.ok(comparison.equal, `${projection.name}: ${JSON.stringify(comparison.tables)}`);
    assert.ok(comparison.tables.some((t) => t.leftRows > 0), `${projection.name} compared empty tables`);
  }
});

// tpctl's deployment-key commands against a small HTTP server that plays the registry's routes
// and the auth service's key routes as docs/issue 12's contract describes them (the auth service
// is not part of this package: this fake stands in for it). Real sockets and real fetch; the
// keys are real Ed25519 keys, so the printed private key is checked against the listed public key.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { run } from './cli.js';
import { CliError } from './errors.js';
import type { Deps } from './runtime.js';

interface FakeKey {
  id: string;
  deploymentId: string;
  state: 'active' | 'disabled';
  publicKeyPem: string;
  fingerprint: string;
  createdAt: string;
}

interface FakeDeployment {
  id: string;
  name: string;
  trustDomainId: string;
  managed: boolean;
}

const trustDomains = [
  { id: 'td-ro6d997e6n', name: 'on-prem.example.com', kind: 'self-hosted' },
  { id: 'td-cq5v0smscu', name: 'example.com', kind: 'self-hosted' },
  { id: 'td-m36ckrte4e', name: 'managed.example.com', kind: 'managed' },
];
let deployments: FakeDeployment[] = [];
let keys: FakeKey[] = [];
let idempotencyKeys: Map<string, string>;
let authAvailable = true;
/** Read-model lag: how many more reads of a new deployment answer 404 after a 202 create. */
let registryLag = 0;
/** Key-service lag: how many more key creations answer 404 DEPLOYMENT_NOT_FOUND. */
let authLag = 0;
/** Deployment deletes for which the registry still counts keys the auth service disabled (its read model lags). */
let registryKeyLag = 0;
/** Deployment DELETE requests answered. */
let deploymentDeletes = 0;
let seen: string[] = [];
let server: Server;
let url: string;
let counter = 0;

const nextId = (prefix: string): string => `${prefix}${String(++counter).padStart(10, '0')}`;

function send(response: ServerResponse, status: number, body?: unknown): void {
  const problem = status >= 400;
  response.writeHead(status, { 'content-type': problem ? 'application/problem+json' : 'application/json' });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

function problem(response: ServerResponse, status: number, code: string, detail: string): void {
  send(response, status, { type: 'about:blank', title: code, status, code, detail });
}

function tdOf(idOrName: string) {
  return trustDomains.find((td) => td.id === idOrName || td.name === idOrName);
}

function deploymentView(d: FakeDeployment) {
  const td = trustDomains.find((t) => t.id === d.trustDomainId);
  return { id: d.id, name: d.name, trustDomainId: d.trustDomainId, trustDomainName: td?.name, region: '', managed: d.managed, activeKeys: 0, createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:00.000Z' };
}

function keyView(k: FakeKey) {
  const d = deployments.find((x) => x.id === k.deploymentId) as FakeDeployment;
  const td = trustDomains.find((t) => t.id === d.trustDomainId);
  return { id: k.id, deploymentId: d.id, deploymentName: d.name, trustDomainId: d.trustDomainId, trustDomainName: td?.name, state: k.state, fingerprint: k.fingerprint, publicKeyPem: k.publicKeyPem, createdAt: k.createdAt, lastUsedAt: null };
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const target = new URL(request.url ?? '/', 'http://fake');
  const method = request.method ?? 'GET';
  seen.push(`${method} ${target.pathname}${target.search}`);
  if (request.headers.authorization !== 'Bearer test-token') return problem(response, 401, 'UNAUTHENTICATED', 'a valid API token is required');
  const parts = target.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  // /api/v1/…
  const [, , collection, tdRef, sub, dRef, keysWord, keyId, action] = parts;
  if (collection === 'deployments' && parts.length === 3) {
    const managed = target.searchParams.get('managed');
    const items = deployments.filter((d) => managed === null || String(d.managed) === managed).map(deploymentView);
    return send(response, 200, { items, nextCursor: null });
  }
  if (collection !== 'trust-domains' || tdRef === undefined) return problem(response, 404, 'NOT_FOUND', 'no such route');
  const td = tdOf(tdRef);
  if (td === undefined) return problem(response, 404, 'TRUST_DOMAIN_NOT_FOUND', `trust domain ${tdRef} not found`);
  if (sub === undefined) return send(response, 200, { ...td, description: '', status: 'available', clusters: 0, deployments: 0, federations: 0, createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:00.000Z' });
  if (sub !== 'deployments') return problem(response, 404, 'NOT_FOUND', 'no such route');
  if (dRef === undefined) {
    if (method === 'POST') {
      const body = JSON.parse(await text(request)) as { name: string };
      const created: FakeDeployment = { id: nextId('tdd-'), name: body.name, trustDomainId: td.id, managed: false };
      deployments.push(created);
      if (registryLag > 0) return send(response, 202, { id: created.id, status: 'accepted', detail: 'committed, not yet visible', location: `/api/v1/trust-domains/${td.id}/deployments/${created.id}` });
      return send(response, 201, deploymentView(created));
    }
    return send(response, 200, { items: deployments.filter((d) => d.trustDomainId === td.id).map(deploymentView), nextCursor: null });
  }
  const deployment = deployments.find((d) => d.trustDomainId === td.id && (d.id === dRef || d.name === dRef));
  if (deployment === undefined) return problem(response, 404, 'DEPLOYMENT_NOT_FOUND', `deployment ${dRef} not found`);
  if (keysWord === undefined && registryLag > 0) {
    registryLag -= 1;
    return problem(response, 404, 'DEPLOYMENT_NOT_FOUND', `deployment ${dRef} not found`);
  }
  if (keysWord === undefined && method === 'DELETE') {
    deploymentDeletes += 1;
    const counted = keys.filter((k) => k.deploymentId === deployment.id && (k.state === 'active' || registryKeyLag > 0)).map((k) => k.id);
    if (registryKeyLag > 0) registryKeyLag -= 1;
    if (target.searchParams.get('force') !== 'true' && counted.length > 0) {
      return send(response, 409, { type: 'about:blank', title: 'conflict', status: 409, code: 'DEPLOYMENT_HAS_ACTIVE_KEYS', detail: `deployment ${deployment.name} has active deployment keys (${counted.join(', ')})`, activeKeys: counted });
    }
    deployments = deployments.filter((d) => d !== deployment);
    return send(response, 204);
  }
  if (keysWord === undefined) return send(response, 200, deploymentView(deployment));
  // The auth service's routes, forwarded by the registry.
  if (!authAvailable) return problem(response, 503, 'AUTH_UNAVAILABLE', 'the deployment-key service is not configured (TP_REGISTRY_AUTH_URL)');
  if (keyId === undefined && method === 'POST' && authLag > 0) {
    authLag -= 1;
    return problem(response, 404, 'DEPLOYMENT_NOT_FOUND', `deployment ${dRef} not found`);
  }
  if (keyId === undefined && method === 'POST') {
    const idempotency = String(request.headers['idempotency-key'] ?? '');
    const fingerprint = `${method} ${target.pathname}`;
    if (idempotencyKeys.has(idempotency)) {
      return idempotencyKeys.get(idempotency) === fingerprint
        ? problem(response, 409, 'SECRET_SHOWN_ONCE', 'the key this request created was shown once')
        : problem(response, 422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another request');
    }
    idempotencyKeys.set(idempotency, fingerprint);
    const pair = generateKeyPairSync('ed25519');
    const created: FakeKey = {
      id: nextId('tdk-'),
      deploymentId: deployment.id,
      state: 'active',
      publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      fingerprint: 'f'.repeat(64),
      createdAt: '2030-01-01T00:00:00.000Z',
    };
    keys.push(created);
    return send(response, 201, { ...keyView(created), privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
  }
  if (keyId === undefined) return send(response, 200, { items: keys.filter((k) => k.deploymentId === deployment.id).map(keyView), nextCursor: null });
  const key = keys.find((k) => k.id === keyId && k.deploymentId === deployment.id);
  if (key === undefined) return problem(response, 404, 'DEPLOYMENT_KEY_NOT_FOUND', `key ${keyId} not found`);
  if (method === 'DELETE') {
    if (key.state !== 'disabled') return problem(response, 409, 'KEY_NOT_DISABLED', `key ${key.id} is active; disable it first`);
    keys = keys.filter((k) => k !== key);
    return send(response, 204);
  }
  if (method === 'POST' && (action === 'enable' || action === 'disable')) {
    key.state = action === 'enable' ? 'active' : 'disabled';
    return send(response, 200, keyView(key));
  }
  return problem(response, 404, 'NOT_FOUND', 'no such route');
}

function text(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

before(async () => {
  server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => problem(response, 500, 'FAKE_FAILED', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  deployments = [{ id: 'tdd-m000000000', name: 'default', trustDomainId: 'td-m36ckrte4e', managed: true }];
  keys = [];
  idempotencyKeys = new Map();
  authAvailable = true;
  registryLag = 0;
  registryKeyLag = 0;
  deploymentDeletes = 0;
  authLag = 0;
  seen = [];
});

async function tpctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const deps: Deps = {
    env: { TPCTL_SERVER: url, TPCTL_TOKEN: 'test-token' },
    home: '/nonexistent',
    fetch,
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    randomUUID,
    now: () => new Date('2030-01-01T00:00:00.000Z'),
    loadBootstrap: async () => {
      throw new CliError('BOOTSTRAP_UNAVAILABLE', 'not here');
    },
    readFile: async () => '',
    readConfig: async () => ({}),
    writeConfig: async () => undefined,
  };
  const code = await run(args, deps);
  return { code, stdout, stderr };
}

async function ok(...args: string[]): Promise<string> {
  const result = await tpctl(...args);
  assert.equal(result.code, 0, `tpctl ${args.join(' ')}\n${result.stderr}`);
  return result.stdout;
}

/** True when `privatePem` is the private half of `publicPem`. */
function samePair(privatePem: string, publicPem: string): boolean {
  const derived = createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();
  return derived === publicPem;
}

test("deployment create <name> --trust-domain: the deployment, then its first key through the auth routes (own Idempotency-Key), printed once with the Helm values", async () => {
  const out = await ok('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  const [created] = deployments.filter((d) => !d.managed);
  const [key] = keys;
  assert.ok(created !== undefined && key !== undefined);
  assert.deepEqual(seen, [
    'POST /api/v1/trust-domains/on-prem.example.com/deployments',
    `POST /api/v1/trust-domains/td-ro6d997e6n/deployments/${created.id}/keys`,
  ]);
  assert.equal(idempotencyKeys.size, 1);
  assert.match(out, new RegExp(`^Deployment ID: +${created.id}$`, 'm'));
  assert.match(out, /^Trust domain ID: +td-ro6d997e6n$/m);
  assert.match(out, new RegExp(`^Key id: +${key.id}$`, 'm'));
  const pem = /Private Key:\n(-----BEGIN PRIVATE KEY-----\n[^]*?-----END PRIVATE KEY-----\n)/.exec(out)?.[1] ?? '';
  assert.ok(samePair(pem, key.publicKeyPem), 'the printed private key is the one whose public key the service holds');
  assert.match(out, /shown this one time/);
  assert.match(out, new RegExp(`trustDomainDeployment:\\n  id: ${created.id}\\n[^]*        id: "${key.id}"\\n        pem: \\|\\n          -----BEGIN PRIVATE KEY-----`));

  const json = JSON.parse(await ok('trust-domain', 'deployment', 'create', 'eu-central-1', '--trust-domain', 'on-prem.example.com', '--output', 'json')) as Record<string, string>;
  assert.equal(json['deployment_name'], 'eu-central-1');
  assert.equal(json['trust_domain_name'], 'on-prem.example.com');
  assert.match(json['key_id'] ?? '', /^tdk-/);
  assert.match(json['private_key_pem'] ?? '', /^-----BEGIN PRIVATE KEY-----\n/);
});

test("the guide's multi-region loop: each `key create --output json` holds key_id, deployment_name, trust_domain_name and a working private_key_pem", async () => {
  await ok('trust-domain', 'deployment', 'create', 'global-1', '--trust-domain', 'example.com', '--no-key');
  for (const region of ['us-west-2', 'us-east-1', 'eu-central-1']) {
    await ok('trust-domain', 'deployment', 'create', region, '--trust-domain', 'example.com');
    const file = JSON.parse(await ok('trust-domain', 'deployment', 'key', 'create', '--trust-domain', 'example.com', '--deployment-name', region, '--output', 'json')) as Record<string, string>;
    assert.deepEqual(Object.keys(file).filter((k) => /[A-Z]/.test(k)), [], 'snake_case only');
    assert.equal(file['deployment_name'], region);
    assert.equal(file['trust_domain_name'], 'example.com');
    const key = keys.find((k) => k.id === file['key_id']);
    assert.ok(key !== undefined, `key ${file['key_id']} exists`);
    assert.ok(samePair(file['private_key_pem'] ?? '', key.publicKeyPem));
  }
  assert.equal(keys.length, 6, 'deployment create made one key per region, key create a second');
});

test('key list: all keys across trust domains, of one trust domain, of one deployment; blocks with the public key and a count', async () => {
  await ok('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  await ok('trust-domain', 'deployment', 'key', 'create', '--trust-domain', 'on-prem.example.com', '--deployment-name', 'us-west-2');
  await ok('trust-domain', 'deployment', 'create', 'eu-central-1', '--trust-domain', 'example.com');
  const all = await ok('trust-domain', 'deployment', 'key', 'list');
  assert.match(all, /3 trust domain keys found\.\n$/);
  assert.equal(all.match(/^Trust Domain Key ID: +tdk-/gm)?.length, 3);
  assert.match(all, /^Trust Domain Name: +example\.com\nTrust Domain ID: +td-cq5v0smscu\nDeployment Name: +eu-central-1\n/m);
  assert.match(all, /^Public Key:\n-----BEGIN PUBLIC KEY-----\n/m);
  assert.ok(seen.includes('GET /api/v1/deployments?managed=false&limit=200'), seen.join('\n'));
  assert.ok(!seen.some((s) => s.includes('tdd-m000000000')), 'managed deployments have no deployment keys to ask for');
  assert.match(await ok('trust-domain', 'deployment', 'key', 'list', '--trust-domain', 'on-prem.example.com'), /\n2 trust domain keys found\.\n$/);
  assert.match(await ok('trust-domain', 'deployment', 'key', 'list', '--trust-domain', 'example.com', '--deployment-name', 'eu-central-1'), /^Trust Domain Name[^]*\n1 trust domain key found\.\n$/);
  const json = JSON.parse(await ok('trust-domain', 'deployment', 'key', 'list', '--trust-domain', 'example.com', '--output', 'json')) as Record<string, unknown>[];
  assert.equal(json.length, 1);
  assert.deepEqual(Object.keys(json[0] ?? {}), ['key_id', 'deployment_id', 'deployment_name', 'trust_domain_id', 'trust_domain_name', 'state', 'fingerprint', 'public_key_pem', 'created_at', 'last_used_at']);
  assert.ok(!('private_key_pem' in (json[0] ?? {})));
});

test('disable warns that issued credentials stay valid up to 24 hours; enable; delete is refused while active and works once disabled', async () => {
  await ok('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  const id = keys[0]?.id ?? '';
  const disabled = await ok('trust-domain', 'deployment', 'key', 'disable', id, '--trust-domain', 'on-prem.example.com', '--deployment-name', 'us-west-2');
  assert.match(disabled, new RegExp(`^Trust domain key ${id} disabled\\.\\nImportant! Existing credentials issued to the trust domain deployment are still valid for up to 24 hours\\.\\n`));
  assert.match(disabled, /can no longer reach the control plane/);
  assert.equal(keys[0]?.state, 'disabled');
  // Without --deployment-name the key is found in the trust domain; without --trust-domain, anywhere.
  assert.equal(await ok('trust-domain', 'deployment', 'key', 'enable', id, '--trust-domain', 'on-prem.example.com'), `Trust domain key ${id} enabled.\n`);
  assert.equal(keys[0]?.state, 'active');
  const refused = await tpctl('trust-domain', 'deployment', 'key', 'delete', id, '--trust-domain', 'on-prem.example.com');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\(KEY_NOT_DISABLED\)/);
  assert.equal(keys.length, 1);
  await ok('trust-domain', 'deployment', 'key', 'disable', id);
  assert.equal(await ok('trust-domain', 'deployment', 'key', 'delete', id), `Trust domain key ${id} deleted.\n`);
  assert.equal(keys.length, 0);
  const missing = await tpctl('trust-domain', 'deployment', 'key', 'enable', id, '--trust-domain', 'on-prem.example.com');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`deployment key ${id} not found in trust domain on-prem\\.example\\.com \\(DEPLOYMENT_KEY_NOT_FOUND\\)`));
  const json = JSON.parse(await ok('trust-domain', 'deployment', 'key', 'create', '--trust-domain', 'on-prem.example.com', '--deployment-name', 'us-west-2', '-o', 'json')) as { key_id: string };
  assert.deepEqual(JSON.parse(await ok('trust-domain', 'deployment', 'key', 'disable', json.key_id, '-o', 'json')), {
    key_id: json.key_id, deployment_id: deployments[1]?.id, deployment_name: 'us-west-2', trust_domain_id: 'td-ro6d997e6n', trust_domain_name: 'on-prem.example.com', state: 'disabled',
  });
});

test('with the key service away, deployment create says the deployment exists and how to get its key, and fails', async () => {
  authAvailable = false;
  const result = await tpctl('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /Deployment 'us-west-2' \(tdd-[0-9]+\) was created, but its first key was not/);
  assert.match(result.stderr, /tpctl trust-domain deployment key create --trust-domain on-prem\.example\.com --deployment-name us-west-2/);
  assert.match(result.stderr, /\(AUTH_UNAVAILABLE\)\n$/);
  const listed = await tpctl('trust-domain', 'deployment', 'key', 'list');
  assert.equal(listed.code, 1);
  assert.match(listed.stderr, /AUTH_UNAVAILABLE/);
});

test('deployment create waits out read-model lag: a 202 deployment is read until it shows, and a key service that has not seen it yet is asked again', async () => {
  registryLag = 2;
  authLag = 2;
  const out = await ok('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  const created = deployments.find((d) => d.name === 'us-west-2');
  assert.ok(created !== undefined);
  assert.equal(keys.length, 1, 'exactly one key');
  assert.match(out, new RegExp(`^Key id: +${keys[0]?.id ?? '-'}$`, 'm'));
  const keyPosts = seen.filter((line) => line.startsWith('POST') && line.endsWith('/keys'));
  assert.equal(keyPosts.length, 3, 'two refused attempts, then the key');
  assert.equal(seen.filter((line) => line === `GET /api/v1/trust-domains/on-prem.example.com/deployments/${created.id}`).length, 3);
  // Without a key to create, the 202 is reported as committed, as for any command.
  registryLag = 1;
  const accepted = await ok('trust-domain', 'deployment', 'create', 'eu-west-1', '--trust-domain', 'on-prem.example.com', '--no-key');
  assert.match(accepted, /^Accepted: tdd-[0-9]+ is committed and will be visible shortly/);
});

test('deployment delete right after key disable: a refusal only the registry\'s lag makes is repeated; a really active key is refused at once', async () => {
  await ok('trust-domain', 'deployment', 'create', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  const id = keys[0]?.id ?? '';
  const deploymentId = deployments.find((d) => d.name === 'us-west-2')?.id ?? '';
  const refused = await tpctl('trust-domain', 'deployment', 'delete', 'us-west-2', '--trust-domain', 'on-prem.example.com');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`active deployment keys \\(${id}\\) \\(DEPLOYMENT_HAS_ACTIVE_KEYS\\)`));
  assert.equal(deploymentDeletes, 1, 'a key the auth service has active is reported at once');
  await ok('trust-domain', 'deployment', 'key', 'disable', id, '--trust-domain', 'on-prem.example.com');
  registryKeyLag = 2;
  deploymentDeletes = 0;
  assert.equal(await ok('trust-domain', 'deployment', 'delete', 'us-west-2', '--trust-domain', 'on-prem.example.com'), `Deployment us-west-2 (${deploymentId}) deleted.\n`);
  assert.equal(deploymentDeletes, 3, 'two refusals from lag, then the delete');
  assert.equal(deployments.some((d) => d.name === 'us-west-2'), false);
});

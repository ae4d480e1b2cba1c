// The control-plane side of self-hosted sync on a real registry (NATS JetStream, PostgreSQL):
// credential-only authentication, the pushed and resumable NDJSON stream, reports validated
// against the trust domain and turned into events, and Configuration State / Last Configured.
// Credentials are real: deployment keys created through the registry's forwarded key routes, and
// exchanged by libs/auth-client at the real auth service (two replicas on the registry's database
// and log: one issuing hour-long credentials, one issuing 3-second ones). Only hostile callers
// sign their own tokens, with keys the auth service never held.
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { fetchControlPlaneCredential } from '@trustplane/auth-client';
import { buildCaCertificate, keyObjectSigner } from '@trustplane/crypto';
import { eventually, freePort, startServiceProcess, testAuthEnv, type RunningService } from '@trustplane/testkit';
import { call, startRegistryHarness, type RegistryHarness } from '../testing/harness.js';

let h: RegistryHarness;
/** The auth service the registry verifies against (hour-long credentials). */
let auth: RunningService;
/** A second auth replica on the same database, issuing 3-second credentials. */
let shortAuth: RunningService;
/** The registry's clock runs this far ahead of the real one (to present credentials past their expiry). */
let clockOffsetMs = 0;
/** Deployment keys created through the registry's forwarded routes, per deployment. */
const keys = new Map<string, { id: string; privateKeyPem: string }>();
let org: { id: string; token: string };
let other: { id: string; token: string };
let td: { id: string; name: string };
let otherTd: { id: string; name: string };
let managed: { id: string; deploymentId: string };
let usWest: string;
let euCentral: string;
let otherDeployment: string;

/** A CA certificate (base64 DER) of `trustDomain`, and its JWT key as a public JWK. */
async function caOf(trustDomain: string): Promise<{ certificate: string; jwk: Record<string, string> }> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const authority = await buildCaCertificate(
    {
      trustDomain,
      publicKey: ca.publicKey.export({ type: 'spki', format: 'der' }),
      serialRandom: randomBytes(16),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    },
    keyObjectSigner(ca.privateKey),
  );
  const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { certificate: Buffer.from(authority.certificate).toString('base64'), jwk: jwt.publicKey.export({ format: 'jwk' }) as Record<string, string> };
}

async function report(credential: string, body: unknown) {
  return call(h.url, 'POST', '/api/v1/sync/report', { token: credential, body });
}

/** A deployment key of `deploymentId` (created once, through the registry, which forwards to auth). */
async function keyOf(deploymentId: string, trustDomainId = td.id): Promise<{ id: string; privateKeyPem: string }> {
  const known = keys.get(deploymentId);
  if (known !== undefined) return known;
  // The auth service learns the organization, its token and the deployment from the log: wait for it.
  let created: Awaited<ReturnType<typeof call>> | undefined;
  await eventually(async () => {
    created = await call(h.url, 'POST', `/api/v1/trust-domains/${trustDomainId}/deployments/${deploymentId}/keys`, { token: org.token });
    return created.status !== 401 && created.status !== 404;
  }, 20_000, 'the auth service knows the deployment');
  assert.ok(created !== undefined);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const key = { id: String(created.json.id), privateKeyPem: String(created.json.privateKeyPem) };
  keys.set(deploymentId, key);
  return key;
}

/** A real control-plane credential of `deploymentId`: a fresh assertion exchanged through the registry. */
async function credentialFor(deploymentId: string, trustDomainId = td.id, base = h.url): Promise<string> {
  const key = await keyOf(deploymentId, trustDomainId);
  return (await fetchControlPlaneCredential(base, { privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId })).credential;
}

/** A hostile caller's token in the credential format, signed by a key the auth service never held. */
function forged(claims: Record<string, unknown>, kid: string, key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'ES256', kid, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** Reads NDJSON lines of a sync stream until `until` returns true or the deadline passes. */
async function readStream(credential: string, afterPosition: number | undefined, until: (lines: Record<string, unknown>[]) => boolean, onLine?: (line: Record<string, unknown>) => Promise<void>) {
  const controller = new AbortController();
  const query = afterPosition === undefined ? '' : `?after=${afterPosition}`;
  const response = await fetch(`${h.url}/api/v1/sync/stream${query}`, { headers: { authorization: `Bearer ${credential}` }, signal: controller.signal });
  const lines: Record<string, unknown>[] = [];
  if (response.status !== 200 || response.body === null) return { status: response.status, lines, json: await response.json() };
  const reader = response.body.getReader();
  const deadline = setTimeout(() => controller.abort(), 30_000);
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += new TextDecoder().decode(value);
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        await onLine?.(line);
      }
      if (until(lines)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  return { status: response.status, lines, json: undefined };
}

async function deploymentView(deploymentId: string) {
  const response = await call(h.url, 'GET', `/api/v1/trust-domains/${td.id}/deployments/${deploymentId}`, { token: org.token });
  assert.equal(response.status, 200);
  return response.json as { configurationState: string; lastConfiguredAt: string | null; activeKeys: number };
}

before(async () => {
  const [authPort, shortAuthPort] = [await freePort(), await freePort()];
  h = await startRegistryHarness(
    'sync',
    { TP_REGISTRY_AUTH_URL: `http://127.0.0.1:${authPort}`, TP_REGISTRY_BODY_LIMIT_BYTES: String(64 * 1024) },
    { clock: { now: () => new Date(Date.now() + clockOffsetMs) } },
  );
  const authEnv = (port: number, ttlSeconds: number) =>
    testAuthEnv(
      { url: h.env['DATABASE_URL'] ?? '' },
      { streamName: h.env['TP_EVENT_STREAM'] ?? '', subjectPrefix: h.env['TP_SUBJECT_PREFIX'] ?? '' },
      port,
      { TP_AUTH_CREDENTIAL_TTL_SECONDS: String(ttlSeconds) },
    );
  auth = await startServiceProcess('auth', authEnv(authPort, 3600), authPort);
  shortAuth = await startServiceProcess('auth', authEnv(shortAuthPort, 3), shortAuthPort);
  org = await h.organization('Sync');
  other = await h.organization('Other');
  const created = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'on-prem.example.com', kind: 'self-hosted' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  td = { id: created.json.id, name: 'on-prem.example.com' };
  const deploy = async (name: string, trustDomainId = td.id, token = org.token) => {
    const response = await call(h.url, 'POST', `/api/v1/trust-domains/${trustDomainId}/deployments`, { token, body: { name, region: name } });
    assert.equal(response.status, 201, JSON.stringify(response.json));
    return String(response.json.id);
  };
  usWest = await deploy('us-west-2');
  euCentral = await deploy('eu-central-1');
  const second = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'second.example.com', kind: 'self-hosted' } });
  otherTd = { id: second.json.id, name: 'second.example.com' };
  otherDeployment = await deploy('elsewhere', otherTd.id);
  const hosted = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'hosted.example.com' } });
  const hostedDeployments = await call(h.url, 'GET', `/api/v1/trust-domains/${hosted.json.id}/deployments`, { token: org.token });
  managed = { id: hosted.json.id, deploymentId: hostedDeployments.json.items[0].id };
});
after(async () => {
  await h?.close();
  for (const service of [auth, shortAuth]) {
    if (service !== undefined) assert.equal(await service.stop(), 0, service.output().slice(-2000));
  }
});

test('sync routes accept only a valid control-plane credential of a self-hosted deployment', async () => {
  const valid = await credentialFor(usWest);
  const [, validClaims] = valid.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(validClaims, 'base64url').toString()) as Record<string, unknown>;
  const jwks = (await (await fetch(`${auth.url}/api/v1/auth/jwks`)).json()) as { keys: { kid: string }[] };
  const servedKid = jwks.keys[0]?.kid ?? '';
  const now = Math.floor(Date.now() / 1000);
  const before = await h.log.lastSequence();
  for (const [method, path] of [['GET', '/api/v1/sync/stream'], ['POST', '/api/v1/sync/report']] as const) {
    const body = method === 'POST' ? {} : undefined;
    const send = (token?: string) => call(h.url, method, path, { ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { body }) });
    const none = await send();
    assert.equal(none.status, 401, `${path} without credentials`);
    const apiToken = await send(org.token);
    assert.equal(apiToken.status, 401, `${path} with an API token`);
    assert.equal(apiToken.json.code, 'API_TOKEN_NOT_ACCEPTED');
    // Hostile callers: their own keys under the served kid, an unknown kid, no signature, garbage.
    const cases: [string, string, string][] = [
      ['signed by a stranger under the served kid', forged(claims, servedKid), 'CREDENTIAL_SIGNATURE_INVALID'],
      ['signed by a stranger under an unknown kid', forged(claims, 'cpk-stranger'), 'CREDENTIAL_KEY_UNKNOWN'],
      ['claims of another organization, forged', forged({ ...claims, org: other.id }, servedKid), 'CREDENTIAL_SIGNATURE_INVALID'],
      ['a 48-hour lifetime, forged', forged({ ...claims, iat: now, exp: now + 2 * 86_400 }, servedKid), 'CREDENTIAL_SIGNATURE_INVALID'],
      ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', kid: servedKid })).toString('base64url')}.${validClaims}.`, 'CREDENTIAL_ALG_UNSUPPORTED'],
      ['not a JWT', 'not.a.jwt', 'CREDENTIAL_MALFORMED'],
    ];
    for (const [name, token, code] of cases) {
      const refused = await send(token);
      assert.equal(refused.status, 401, `${path} ${name}`);
      assert.equal(refused.json.code, code, `${path} ${name}`);
      assert.match(refused.type, /problem\+json/);
    }
    // A real credential, presented after it expired (the registry's clock is two hours ahead).
    clockOffsetMs = 7_200_000;
    try {
      const expired = await send(valid);
      assert.equal(expired.status, 401, `${path} expired`);
      assert.equal(expired.json.code, 'CREDENTIAL_EXPIRED');
    } finally {
      clockOffsetMs = 0;
    }
  }
  // A deployment of a managed trust domain has no deployment key, hence no credential.
  const managedKey = await call(h.url, 'POST', `/api/v1/trust-domains/${managed.id}/deployments/${managed.deploymentId}/keys`, { token: org.token });
  assert.equal(managedKey.status, 409);
  assert.equal(managedKey.json.code, 'MANAGED_DEPLOYMENT');
  // A credential is not an API token anywhere else.
  const elsewhere = await call(h.url, 'GET', '/api/v1/trust-domains', { token: valid });
  assert.equal(elsewhere.status, 401);
  assert.equal(await h.log.lastSequence(), before, 'nothing appended by refused callers');
});

test('a credential names its own deployment: one deployment\'s credential syncs that deployment only', async () => {
  const read = await readStream(await credentialFor(otherDeployment, otherTd.id), undefined, (lines) => lines.some((l) => l['type'] === 'state'));
  assert.equal(read.status, 200);
  const state = read.lines.find((l) => l['type'] === 'state')?.['state'] as { trustDomain: { name: string }; deployment: { id: string } };
  assert.equal(state.trustDomain.name, otherTd.name);
  assert.equal(state.deployment.id, otherDeployment);
});

test('the stream pushes the complete state, then each change; resuming at the applied position sends no state', async () => {
  const credential = await credentialFor(usWest);
  let entryCreated = false;
  const first = await readStream(
    credential,
    undefined,
    (lines) => lines.filter((l) => l['type'] === 'state').length >= 2,
    async (line) => {
      if (line['type'] !== 'state' || entryCreated) return;
      entryCreated = true;
      const entry = await call(h.url, 'POST', `/api/v1/trust-domains/${td.id}/entries`, {
        token: org.token,
        body: { spiffeId: `spiffe://${td.name}/web`, parentId: `spiffe://${td.name}/agent/edge/node-1`, selectors: ['unix:uid:1000'] },
      });
      assert.equal(entry.status, 201, JSON.stringify(entry.json));
    },
  );
  assert.equal(first.status, 200);
  const states = first.lines.filter((l) => l['type'] === 'state') as { position: number; state: { entries: { spiffeId: string }[]; trustDomain: { name: string }; deployment: { id: string } } }[];
  assert.equal(states.length, 2);
  const [initial, pushed] = states as [(typeof states)[0], (typeof states)[0]];
  assert.equal(initial.state.trustDomain.name, td.name);
  assert.equal(initial.state.deployment.id, usWest);
  assert.deepEqual(initial.state.entries, []);
  assert.ok(pushed.position > initial.position, 'the position moves with the change');
  assert.deepEqual(pushed.state.entries.map((e) => e.spiffeId), [`spiffe://${td.name}/web`]);
  const resumed = await readStream(credential, pushed.position, (lines) => lines.length >= 1);
  assert.equal(resumed.lines[0]?.['type'], 'heartbeat', 'nothing new: no state message');
  assert.equal(resumed.lines[0]?.['position'], pushed.position);
  const behind = await readStream(credential, initial.position, (lines) => lines.length >= 1);
  assert.equal(behind.lines[0]?.['type'], 'state');
  assert.equal(behind.lines[0]?.['position'], pushed.position);
  const bad = await readStream(credential, -1 as number, () => true);
  assert.equal(bad.status, 400);
});

test('the stream ends when the credential expires', async () => {
  // From the replica that issues 3-second credentials (its key is in the JWKS every replica serves).
  const credential = await credentialFor(usWest, td.id, shortAuth.url);
  const started = Date.now();
  const read = await readStream(credential, undefined, (lines) => lines.some((l) => l['type'] === 'end'));
  assert.deepEqual(read.lines.at(-1), { type: 'end', reason: 'CREDENTIAL_EXPIRED' });
  assert.ok(Date.now() - started < 25_000);
});

test('bad reports are refused with a typed error and append nothing', async () => {
  const credential = await credentialFor(usWest);
  const own = await caOf(td.name);
  const foreign = await caOf(otherTd.name);
  const good = {
    appliedPosition: 0,
    keysets: [{ keysetId: 'ks-1', state: 'active', x509Authorities: [own.certificate], jwtAuthorities: [{ kid: 'k1', publicKeyJwk: own.jwk }], notAfter: new Date(Date.now() + 86_400_000).toISOString() }],
    agents: [],
    status: { state: 'serving', detail: '' },
  };
  const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const before = await h.log.lastSequence();
  const cases: [string, unknown, number, string][] = [
    ['not an object', [1, 2, 3], 400, 'REPORT_INVALID'],
    ['garbage text', 'garbage', 400, ''],
    ['unknown field', { ...good, extra: true }, 400, 'REPORT_INVALID'],
    ['negative position', { ...good, appliedPosition: -1 }, 400, 'REPORT_INVALID'],
    ['position ahead', { ...good, appliedPosition: 10_000_000 }, 400, 'SYNC_POSITION_AHEAD'],
    ['another trust domain\'s CA', { ...good, keysets: [{ ...good.keysets[0], x509Authorities: [foreign.certificate] }] }, 400, 'REPORT_INVALID'],
    ['not a certificate', { ...good, keysets: [{ ...good.keysets[0], x509Authorities: [Buffer.from('hello').toString('base64')] }] }, 400, 'REPORT_INVALID'],
    ['a private JWK', { ...good, keysets: [{ ...good.keysets[0], jwtAuthorities: [{ kid: 'k1', publicKeyJwk: privateJwk }] }] }, 400, 'REPORT_INVALID'],
    ['an agent of another trust domain', { ...good, agents: [{ agentId: 'ag-0000000001', spiffeId: `spiffe://${otherTd.name}/agent/x/y`, clusterId: 'c-0000000001', nodeName: 'y', expiresAt: new Date().toISOString(), banned: false }] }, 400, 'REPORT_INVALID'],
    ['too many keysets', { ...good, keysets: Array.from({ length: 17 }, (_, i) => ({ ...good.keysets[0], keysetId: `ks-${i}` })) }, 400, 'REPORT_INVALID'],
    ['oversize', { ...good, status: { state: 'serving', detail: 'x'.repeat(100 * 1024) } }, 413, ''],
    ...['nul\u0000inside', 'lone high \ud800', 'escape \u001b[31mred', 'c1\u0085', 'bidi \u202egnp.exe', 'nonchar \uffff', 'x'.repeat(9_000)].flatMap((bad): [string, unknown, number, string][] => [
      [`bad text in status.detail: ${JSON.stringify(bad).slice(0, 20)}`, { ...good, status: { state: 'serving', detail: bad } }, 400, 'REPORT_INVALID'],
      [`bad text in keysetId: ${JSON.stringify(bad).slice(0, 20)}`, { ...good, keysets: [{ ...good.keysets[0], keysetId: bad }] }, 400, 'REPORT_INVALID'],
      [`bad text as a JWK member: ${JSON.stringify(bad).slice(0, 20)}`, { ...good, keysets: [{ ...good.keysets[0], jwtAuthorities: [{ kid: 'k1', publicKeyJwk: { ...own.jwk, [bad.slice(0, 60)]: 'x' } }] }] }, 400, 'REPORT_INVALID'],
    ]),
    ['an agent SPIFFE ID outside /agent/', { ...good, agents: [{ agentId: 'ag-0000000001', spiffeId: `spiffe://${td.name}/web`, clusterId: 'c-0000000001', nodeName: 'y', expiresAt: new Date().toISOString(), banned: false }] }, 400, 'REPORT_INVALID'],
  ];
  for (const [name, body, status, code] of cases) {
    const response = await report(credential, body);
    assert.equal(response.status, status, `${name}: ${JSON.stringify(response.json)}`);
    if (code !== '') assert.equal(response.json.code, code, name);
    assert.match(response.type, /problem\+json/, name);
  }
  const privateRefusal = await report(credential, cases[7]?.[1]);
  assert.ok(privateRefusal.json.errors.some((e: { code: string }) => e.code === 'PRIVATE_KEY_REFUSED'));
  const foreignRefusal = await report(credential, cases[5]?.[1]);
  assert.ok(foreignRefusal.json.errors.some((e: { code: string }) => e.code === 'AUTHORITY_INVALID'));
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
});

test('reports: Configuration State Unknown → Up to date → Pending → Up to date, Last Configured, the trust domain becomes available', async () => {
  assert.equal((await deploymentView(usWest)).configurationState, 'Unknown');
  assert.equal((await deploymentView(usWest)).lastConfiguredAt, null);
  const info = await call(h.url, 'GET', `/api/v1/trust-domains/${td.id}`, { token: org.token });
  assert.equal(info.json.status, 'provisioning');
  const credential = await credentialFor(usWest);
  const position = async () => {
    const read = await readStream(credential, undefined, (lines) => lines.some((l) => l['type'] === 'state'));
    return Number(read.lines.find((l) => l['type'] === 'state')?.['position']);
  };
  const own = await caOf(td.name);
  const notAfter = new Date(Date.now() + 86_400_000).toISOString();
  const body = (appliedPosition: number) => ({
    appliedPosition,
    keysets: [{ keysetId: 'ks-1', state: 'active', x509Authorities: [own.certificate], jwtAuthorities: [{ kid: 'k1', publicKeyJwk: own.jwk }], notAfter }],
    agents: [],
    status: { state: 'serving', detail: 'ok' },
  });
  // Behind: reported, not configured.
  const behind = await report(credential, body(1));
  assert.equal(behind.status, 200, JSON.stringify(behind.json));
  assert.deepEqual(behind.json.appended, ['deployment.reported']);
  assert.equal((await deploymentView(usWest)).configurationState, 'Pending');
  // Its own keysets moved the trust domain's position (peers must get them): apply that.
  const current = await position();
  const caughtUp = await report(credential, body(current));
  assert.equal(caughtUp.status, 200, JSON.stringify(caughtUp.json));
  assert.deepEqual(caughtUp.json.appended, ['deployment.configured'], 'same keysets, agents and status: only configured');
  const view = await deploymentView(usWest);
  assert.equal(view.configurationState, 'Up to date');
  assert.ok(view.lastConfiguredAt !== null);
  assert.equal(view.activeKeys, 1, 'reported active keysets count as active keys');
  assert.equal((await deploymentView(euCentral)).configurationState, 'Unknown', 'the other deployment never reported');
  assert.equal((await call(h.url, 'GET', `/api/v1/trust-domains/${td.id}`, { token: org.token })).json.status, 'available');
  // The same report again appends nothing.
  const again = await report(credential, body(current));
  assert.deepEqual(again.json.appended, []);
  // A configuration change: Pending until the deployment applies it.
  const entry = await call(h.url, 'POST', `/api/v1/trust-domains/${td.id}/entries`, {
    token: org.token,
    body: { spiffeId: `spiffe://${td.name}/db`, parentId: `spiffe://${td.name}/agent/edge/node-1`, selectors: ['unix:uid:1001'] },
  });
  assert.equal(entry.status, 201);
  assert.equal((await deploymentView(usWest)).configurationState, 'Pending');
  const next = await position();
  assert.ok(next > current);
  const applied = await report(credential, body(next));
  assert.deepEqual(applied.json.appended, ['deployment.configured']);
  const after = await deploymentView(usWest);
  assert.equal(after.configurationState, 'Up to date');
  assert.ok(after.lastConfiguredAt !== null && after.lastConfiguredAt >= (view.lastConfiguredAt ?? ''));
  // The trust domain's stream carries every deployment's reported authorities.
  const eu = await readStream(await credentialFor(euCentral), undefined, (lines) => lines.some((l) => l['type'] === 'state'));
  const state = eu.lines.find((l) => l['type'] === 'state')?.['state'] as { authorities: { deploymentId: string; keysets: { x509Authorities: string[] }[] }[] };
  assert.deepEqual(state.authorities.map((a) => [a.deploymentId, a.keysets[0]?.x509Authorities[0]]), [[usWest, own.certificate]]);
});

test('a peer deployment\'s new CA is pushed at once to the other deployments\' open streams', async () => {
  const peer = await caOf(td.name);
  const credential = await credentialFor(usWest);
  let reportedAt = 0;
  let pushedAt = 0;
  const read = await readStream(
    await credentialFor(euCentral),
    undefined,
    (lines) => lines.filter((l) => l['type'] === 'state').length >= 2,
    async (line) => {
      if (line['type'] !== 'state') return;
      if (reportedAt === 0) {
        reportedAt = Date.now();
        const response = await report(credential, {
          appliedPosition: 0,
          keysets: [{ keysetId: 'ks-2', state: 'prepared', x509Authorities: [peer.certificate], jwtAuthorities: [{ kid: 'k2', publicKeyJwk: peer.jwk }], notAfter: new Date(Date.now() + 86_400_000).toISOString() }],
          agents: [],
          status: { state: 'serving', detail: 'rotating' },
        });
        assert.equal(response.status, 200, JSON.stringify(response.json));
      } else {
        pushedAt = Date.now();
      }
    },
  );
  const states = read.lines.filter((l) => l['type'] === 'state') as { state: { authorities: { keysets: { x509Authorities: string[] }[] }[] } }[];
  assert.equal(states.length, 2, JSON.stringify(read.lines.map((l) => l['type'])));
  assert.ok(JSON.stringify(states[1]?.state.authorities).includes(peer.certificate));
  // Pushed by the change notification, not found by the next heartbeat (15 s).
  assert.ok(pushedAt - reportedAt < 10_000, `pushed after ${pushedAt - reportedAt} ms`);
});

test('a deleted deployment\'s credential, still within its lifetime, is refused: it names no self-hosted deployment any more', async () => {
  const created = await call(h.url, 'POST', `/api/v1/trust-domains/${td.id}/deployments`, { token: org.token, body: { name: 'doomed', region: 'doomed' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const doomed = String(created.json.id);
  const credential = await credentialFor(doomed);
  assert.equal((await readStream(credential, undefined, (lines) => lines.length >= 1)).status, 200, 'it syncs while the deployment exists');
  const deleted = await call(h.url, 'DELETE', `/api/v1/trust-domains/${td.id}/deployments/${doomed}?force=true`, { token: org.token });
  assert.ok(deleted.status === 204 || deleted.status === 202, JSON.stringify(deleted.json));
  await eventually(async () => (await call(h.url, 'GET', `/api/v1/trust-domains/${td.id}/deployments/${doomed}`, { token: org.token })).status === 404, 20_000, 'deployment gone');
  const before = await h.log.lastSequence();
  const stream = await readStream(credential, undefined, () => true);
  assert.equal(stream.status, 403);
  assert.equal((stream.json as { code: string }).code, 'DEPLOYMENT_NOT_SYNCABLE');
  const refused = await report(credential, { appliedPosition: 0, keysets: [], agents: [], status: { state: 'serving', detail: '' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'DEPLOYMENT_NOT_SYNCABLE');
  assert.equal(await h.log.lastSequence(), before, 'nothing appended');
});

test('when the auth service\'s keys cannot be fetched, a credential is neither accepted nor refused: 503 with Retry-After', async () => {
  // A second registry on its own database and log, whose auth URL answers nothing.
  const lonely = await startRegistryHarness('sync_noauth', { TP_REGISTRY_AUTH_URL: `http://127.0.0.1:${await freePort()}` });
  try {
    const credential = await credentialFor(usWest);
    const before = await lonely.log.lastSequence();
    for (const [method, path] of [['GET', '/api/v1/sync/stream'], ['POST', '/api/v1/sync/report']] as const) {
      const answer = await call(lonely.url, method, path, { token: credential, ...(method === 'POST' ? { body: {} } : {}) });
      assert.equal(answer.status, 503, `${path}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.json.code, 'CREDENTIAL_UNVERIFIABLE');
      assert.ok(Number(answer.headers.get('retry-after')) > 0, 'Retry-After');
    }
    assert.equal(await lonely.log.lastSequence(), before, 'nothing appended');
  } finally {
    await lonely.close();
  }
});

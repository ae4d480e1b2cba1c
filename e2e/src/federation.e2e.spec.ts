// The public bundle publisher in the running system: registry, signer, agent and federation as
// real processes on one log, set up with tpctl as an operator would. `tpctl trust-domain info`
// shows the bundle / JWKS / OIDC URLs once the registry knows the publisher's base URL; the
// SPIFFE bundle there holds the signer's CA (openssl parses every x5c); and a JWT-SVID minted
// through the agent's Workload API verifies with jose's createRemoteJWKSet fed from the OIDC
// discovery document (a maintained JOSE library, not our code). No response carries a private
// JWK member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { workload } from '@trustplane/proto';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startAgentProcess,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  tpctl,
  type RunningAgent,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

const TD = 'fed.example';
const PARENT = `spiffe://${TD}/agent/edge/node-1`;
const WORKLOAD = `spiffe://${TD}/e2e/oidc-client`;
const AUDIENCE = 'https://relying-party.example';
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

const work = mkdtempSync(join(tmpdir(), 'tp-fed-'));
let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let signer: RunningService;
let federation: RunningService;
let agent: RunningAgent;
let cliEnv: Record<string, string>;
let endpoints: { bundle: string; jwks: string; oidc_discovery: string; jwt_issuer: string };
/** An external peer's bundle endpoint: HTTPS with a certificate of a test Web CA (openssl). */
let peerEndpoint: HttpsServer;
let peerEndpointPort: number;
let externalPeerCaDer: Buffer;

function openssl(args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: work, encoding: 'utf8' });
  assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
}

/** A Web CA and a server certificate for 127.0.0.1 (the peer endpoint), and the peer's own CA. */
function makePeerPki(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'webca.key', '-out', 'webca.pem', '-days', '1', '-subj', '/CN=e2e web CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', ...ec, '-keyout', 'endpoint.key', '-out', 'endpoint.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(work, 'endpoint.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'endpoint.csr', '-CA', 'webca.pem', '-CAkey', 'webca.key', '-CAcreateserial', '-days', '1', '-extfile', 'endpoint.ext', '-out', 'endpoint.pem']);
  openssl(['req', '-x509', ...ec, '-keyout', 'peerca.key', '-out', 'peerca.der', '-outform', 'DER', '-days', '1', '-subj', '/CN=external-peer.example', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectAltName=URI:spiffe://external-peer.example']);
  externalPeerCaDer = readFileSync(join(work, 'peerca.der'));
}

async function cli<T>(args: string[]): Promise<T> {
  const result = await tpctl([...args, '--output', 'json'], cliEnv);
  assert.equal(result.code, 0, `tpctl ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Every private JWK member anywhere in a JSON value. */
function privateMembers(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => privateMembers(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([name, member]) => [
    ...(PRIVATE_MEMBERS.has(name) ? [`${path}.${name}`] : []),
    ...privateMembers(member, `${path}.${name}`),
  ]);
}

function fetchJwtSvid(socketPath: string): Promise<{ token?: string; error?: ServiceError }> {
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  return new Promise((resolve) => {
    client.fetchJwtsvid({ audience: [AUDIENCE], spiffeId: '' }, md, (error, value) => {
      client.close();
      resolve(error ? { error } : { token: value.svids[0]?.svid ?? '' });
    });
  });
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_federation');
  stream = testStreamSettings('e2e_federation');
  const [registryPort, signerPort, agentApiPort, federationPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const federationBase = `http://127.0.0.1:${federationPort}`;
  makePeerPki();
  peerEndpointPort = await freePort();
  const peerBundle = JSON.stringify({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: [externalPeerCaDer.toString('base64')] }], spiffe_sequence: 5, spiffe_refresh_hint: 2 });
  peerEndpoint = createHttpsServer({ cert: readFileSync(join(work, 'endpoint.pem')), key: readFileSync(join(work, 'endpoint.key')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(peerBundle);
  });
  await new Promise<void>((resolve) => peerEndpoint.listen(peerEndpointPort, '127.0.0.1', resolve));
  const common = { DATABASE_URL: db.url, TP_EVENT_STREAM: stream.streamName, TP_SUBJECT_PREFIX: stream.subjectPrefix, TP_LOG_LEVEL: 'warn' };
  const serviceEnv = { ...testNatsEnv(), ...common };
  registry = await startServiceProcess(
    'registry',
    { ...serviceEnv, TP_REGISTRY_PORT: String(registryPort), TP_REGISTRY_PUBLIC_BASE_URL: `http://127.0.0.1:${registryPort}`, TP_REGISTRY_PUBLIC_BUNDLE_BASE_URL: federationBase, TP_REGISTRY_FEDERATION_URLS: `https://peers.example.net/federation/,https://127.0.0.1:${peerEndpointPort}/` },
    registryPort,
  );
  signer = await startServiceProcess(
    'signer',
    {
      ...serviceEnv,
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_AGENT_PORT: String(agentApiPort),
      TP_SIGNER_AGENT_HOST: '127.0.0.1',
      TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
      TP_SIGNER_KEY_DIR: join(work, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'kek'),
    },
    signerPort,
  );
  // The publisher: its own read-only bus user, no database.
  federation = await startServiceProcess(
    'federation',
    {
      ...testNatsEnv('federation'),
      TP_FEDERATION_WRITER_NATS_USER: testNatsEnv('federationWriter')['TP_NATS_USER'] ?? '',
      TP_FEDERATION_WRITER_NATS_PASSWORD: testNatsEnv('federationWriter')['TP_NATS_PASSWORD'] ?? '',
      TP_FEDERATION_WEB_CA_FILE: join(work, 'webca.pem'),
      TP_FEDERATION_MIN_POLL_MS: '500',
      TP_EVENT_STREAM: stream.streamName, TP_SUBJECT_PREFIX: stream.subjectPrefix, TP_LOG_LEVEL: 'warn', TP_FEDERATION_PORT: String(federationPort), TP_FEDERATION_PUBLIC_BASE_URL: federationBase },
    federationPort,
  );
  cliEnv = { ...serviceEnv, TPCTL_SERVER: registry.url };

  const org = await cli<{ id: string }>(['org', 'create', '--name', 'Federation']);
  const token = await cli<{ token: string }>(['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'federation']);
  cliEnv['TPCTL_TOKEN'] = token.token;
  await eventually(async () => (await tpctl(['trust-domain', 'list'], cliEnv)).code === 0, 10_000, 'token usable');
  const td = await cli<{ id: string }>(['trust-domain', 'create', TD]);
  await eventually(async () => (await cli<{ status: string }>(['trust-domain', 'info', TD])).status === 'available', 30_000, 'trust domain available');
  const info = await cli<{ endpoints: typeof endpoints }>(['trust-domain', 'info', TD]);
  endpoints = info.endpoints;
  const cluster = await cli<{ id: string }>(['cluster', 'create', TD, 'edge', '--platform', 'linux']);
  const joinToken = await cli<{ token: string }>(['cluster', 'join-token', 'create', '--cluster', 'edge', '--trust-domain', TD]);
  const bundle = await tpctl(['trust-domain', 'bundle', TD], cliEnv);
  assert.equal(bundle.code, 0, bundle.stderr);
  writeFileSync(join(work, 'bundle.pem'), bundle.stdout);
  agent = await startAgentProcess(
    {
      TP_LOG_LEVEL: 'warn',
      TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentApiPort}`,
      TP_AGENT_TRUST_DOMAIN_ID: td.id,
      TP_AGENT_TRUST_DOMAIN: TD,
      TP_AGENT_CLUSTER_ID: cluster.id,
      TP_AGENT_NODE_NAME: 'node-1',
      TP_AGENT_JOIN_TOKEN: joinToken.token,
      TP_AGENT_TRUST_BUNDLE_PATH: join(work, 'bundle.pem'),
      TP_AGENT_DATA_DIR: join(work, 'agent'),
    },
    { healthPort: await freePort(), socketPath: join(work, 'agent.sock') },
  );
  await cli(['entry', 'create', TD, '--spiffe-id', WORKLOAD, '--parent-id', PARENT, '--selector', `unix:uid:${process.getuid?.() ?? 0}`]);
});

after(async () => {
  await agent?.stop();
  await federation?.stop();
  peerEndpoint?.closeAllConnections();
  await new Promise((resolve) => (peerEndpoint === undefined ? resolve(undefined) : peerEndpoint.close(resolve)));
  await signer?.stop();
  await registry?.stop();
  if (stream !== undefined) await deleteTestStream(nc, stream.streamName);
  await nc?.close();
  await db?.drop();
});

test('tpctl trust-domain info prints the bundle, JWKS and OIDC discovery URLs of the publisher, which answer', async () => {
  const { orgId, tdId } = /\/(?<orgId>t-[0-9a-z]{10})\/(?<tdId>td-[0-9a-z]{10})\/bundle$/.exec(endpoints.bundle)?.groups ?? {};
  assert.ok(orgId !== undefined && tdId !== undefined, `bundle URL ${endpoints.bundle} is <base>/<org-id>/<td-id>/bundle`);
  assert.equal(endpoints.jwks, `${endpoints.jwt_issuer}/jwks`);
  assert.equal(endpoints.oidc_discovery, `${endpoints.jwt_issuer}/.well-known/openid-configuration`);
  const human = await tpctl(['trust-domain', 'info', TD], cliEnv);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`SPIFFE Bundle Endpoint:\\s+${endpoints.bundle.replace(/[.]/g, '\\.')}`));
  assert.match(human.stdout, /OIDC Discovery Endpoint:\s+http:\/\//);
  for (const url of [endpoints.bundle, endpoints.jwks, endpoints.oidc_discovery]) {
    await eventually(async () => (await fetch(url)).status === 200, 20_000, `${url} served`);
  }
  // The trust domain's name redirects to its id.
  const byName = await fetch(endpoints.bundle.replace(`/${tdId}/`, `/${TD}/`), { redirect: 'manual' });
  assert.equal(byName.status, 302);
  assert.equal(byName.headers.get('location'), `/${orgId}/${tdId}/bundle`);
});

test('the SPIFFE bundle holds the signer\'s CA (openssl parses every x5c), JWT authorities with kid, a sequence and refresh hint; 304 on its ETag', async () => {
  const response = await fetch(endpoints.bundle);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
  const bundle = (await response.json()) as { keys: Record<string, unknown>[]; spiffe_sequence: number; spiffe_refresh_hint: number };
  assert.ok(Number.isSafeInteger(bundle.spiffe_sequence) && bundle.spiffe_sequence >= 1);
  assert.ok(Number.isSafeInteger(bundle.spiffe_refresh_hint) && bundle.spiffe_refresh_hint > 0);
  assert.equal(response.headers.get('cache-control'), `public, max-age=${bundle.spiffe_refresh_hint}`);
  const x509Keys = bundle.keys.filter((k) => k['use'] === 'x509-svid');
  const jwtKeys = bundle.keys.filter((k) => k['use'] === 'jwt-svid');
  assert.ok(x509Keys.length >= 1 && jwtKeys.length >= 1);
  assert.equal(x509Keys.length + jwtKeys.length, bundle.keys.length, 'no key without a SPIFFE use');
  const signerCas = new Set(
    (await tpctl(['trust-domain', 'bundle', TD], cliEnv)).stdout
      .split(/(?=-----BEGIN CERTIFICATE-----)/)
      .filter((pem) => pem.includes('BEGIN CERTIFICATE'))
      .map((pem) => new X509Certificate(pem).fingerprint256),
  );
  for (const [i, key] of x509Keys.entries()) {
    assert.equal(key['kid'], undefined, 'x509-svid keys carry no kid');
    const x5c = key['x5c'] as string[];
    assert.equal(x5c.length, 1, 'exactly one certificate');
    const der = join(work, `ca-${i}.der`);
    writeFileSync(der, Buffer.from(x5c[0] ?? '', 'base64'));
    const parsed = spawnSync('openssl', ['x509', '-inform', 'DER', '-in', der, '-noout', '-text'], { encoding: 'utf8' });
    assert.equal(parsed.status, 0, parsed.stderr);
    assert.match(parsed.stdout, /CA:TRUE/);
    assert.match(parsed.stdout, new RegExp(`URI:spiffe://${TD.replace('.', '\\.')}`));
    assert.ok(signerCas.has(new X509Certificate(Buffer.from(x5c[0] ?? '', 'base64')).fingerprint256), 'the CA the signer hands agents');
  }
  for (const key of jwtKeys) assert.match(String(key['kid']), /.+/);

  const etag = response.headers.get('etag') ?? '';
  const cached = await fetch(endpoints.bundle, { headers: { 'if-none-match': etag } });
  assert.equal(cached.status, 304);
  const compressed = await fetch(endpoints.bundle, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(compressed.headers.get('content-encoding'), 'gzip');
});

test('a JWT-SVID minted by the agent verifies through OIDC discovery with jose (createRemoteJWKSet from jwks_uri)', async () => {
  let minted: { token?: string; error?: ServiceError } = {};
  await eventually(async () => {
    minted = await fetchJwtSvid(agent.socketPath);
    return typeof minted.token === 'string' && minted.token !== '';
  }, 30_000, `a JWT-SVID from the agent (${minted.error?.message ?? ''})`);
  const token = minted.token ?? '';

  const discovery = (await (await fetch(endpoints.oidc_discovery)).json()) as Record<string, unknown>;
  // OpenID Connect Discovery §4.3: the issuer is the URL the document was fetched under.
  assert.equal(`${String(discovery['issuer'])}/.well-known/openid-configuration`, endpoints.oidc_discovery);
  assert.equal(discovery['issuer'], endpoints.jwt_issuer);
  assert.deepEqual(discovery['response_types_supported'], ['id_token']);
  assert.deepEqual(discovery['subject_types_supported'], ['public']);
  const algorithms = discovery['id_token_signing_alg_values_supported'] as string[];
  const jwks = createRemoteJWKSet(new URL(String(discovery['jwks_uri'])));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { audience: AUDIENCE, algorithms });
  assert.equal(payload.sub, WORKLOAD);
  assert.ok(algorithms.includes(protectedHeader.alg));

  // And it can fail: a wrong audience, a tampered signature.
  await assert.rejects(jwtVerify(token, jwks, { audience: 'https://someone-else.example', algorithms }), joseErrors.JWTClaimValidationFailed);
  const [h, p, s] = token.split('.');
  const flipped = `${h}.${p}.${(s ?? '').startsWith('A') ? 'B' : 'A'}${(s ?? '').slice(1)}`;
  await assert.rejects(jwtVerify(flipped, jwks, { audience: AUDIENCE, algorithms }), joseErrors.JWSSignatureVerificationFailed);
});

test('no public response carries a private JWK member', async () => {
  for (const url of [endpoints.bundle, endpoints.jwks, endpoints.oidc_discovery]) {
    for (const encoding of ['identity', 'gzip', 'br']) {
      const response = await fetch(url, { headers: { 'accept-encoding': encoding } });
      assert.equal(response.status, 200);
      assert.deepEqual(privateMembers(await response.json()), [], `${url} (${encoding})`);
    }
  }
});

test('a prepared keyset is published (new sequence, its CA and kid served) while it signs nothing yet; revoking it takes it off', async () => {
  const sequenceOf = async (): Promise<{ sequence: number; kids: string[]; cas: string[] }> => {
    const bundle = (await (await fetch(endpoints.bundle)).json()) as { keys: Record<string, unknown>[]; spiffe_sequence: number };
    return {
      sequence: bundle.spiffe_sequence,
      kids: bundle.keys.filter((k) => k['use'] === 'jwt-svid').map((k) => String(k['kid'])),
      cas: bundle.keys.filter((k) => k['use'] === 'x509-svid').map((k) => new X509Certificate(Buffer.from((k['x5c'] as string[])[0] ?? '', 'base64')).fingerprint256),
    };
  };
  const before = await sequenceOf();
  const info = await cli<{ deployment_list: { id: string }[] }>(['trust-domain', 'info', TD, '--show-deployments']);
  const deploymentId = info.deployment_list[0]?.id ?? '';
  const prepared = await cli<{ keyset: { id: string; state: string; jwt: { kid: string } } }>(['trust-domain', 'deployment', 'keyset', 'prepare', TD, deploymentId]);
  const kid = prepared.keyset.jwt.kid;
  assert.ok(!before.kids.includes(kid));
  await eventually(async () => (await sequenceOf()).kids.includes(kid), 20_000, 'the prepared JWT authority published');
  const published = await sequenceOf();
  assert.ok(published.sequence > before.sequence, `sequence ${before.sequence} → ${published.sequence}`);
  assert.equal(published.cas.length, before.cas.length + 1, 'its X.509 CA is in the bundle too');
  const jwks = (await (await fetch(endpoints.jwks)).json()) as { keys: { kid: string }[] };
  assert.ok(jwks.keys.some((k) => k.kid === kid), 'and in the JWKS');
  const states = await cli<{ id: string; state: string }[]>(['trust-domain', 'deployment', 'keyset', 'list', TD, deploymentId]);
  assert.equal(states.find((k) => k.id === prepared.keyset.id)?.state, 'prepared', 'published before it signs anything');

  await cli(['trust-domain', 'deployment', 'keyset', 'taint', TD, deploymentId, prepared.keyset.id]);
  await cli(['trust-domain', 'deployment', 'keyset', 'revoke', TD, deploymentId, prepared.keyset.id]);
  await eventually(async () => !(await sequenceOf()).kids.includes(kid), 20_000, 'the revoked keyset off the bundle');
  assert.ok((await sequenceOf()).sequence > published.sequence);
});

test('tpctl federation create|list|info|refresh|delete: a peer of this installation and an allow-listed external one; a URL outside the list refused', async () => {
  const peer = await cli<{ id: string }>(['trust-domain', 'create', 'peer-of-fed.example']);
  const internal = await cli<{ id: string; peer: { kind: string; trust_domain: string } }>(['federation', 'create', TD, '--peer-trust-domain-id', peer.id]);
  assert.deepEqual([internal.peer.kind, internal.peer.trust_domain], ['internal', 'peer-of-fed.example']);
  const external = await cli<{ id: string; peer: { profile: string } }>(['federation', 'create', TD, '--peer-trust-domain', 'remote.example', '--bundle-endpoint-url', 'https://peers.example.net/federation/remote/bundle']);
  assert.equal(external.peer.profile, 'https_web');

  const list = await tpctl(['federation', 'list', TD], cliEnv);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^Peer\s+ID\s+Kind\s+Endpoint\s+Profile\s+Created$/m);
  assert.match(list.stdout, /peer-of-fed\.example\s+fr-[0-9a-z]{10}\s+internal/);
  assert.match(list.stdout, /remote\.example\s+fr-[0-9a-z]{10}\s+external\s+https:\/\/peers\.example\.net\/federation\/remote\/bundle\s+https_web/);
  assert.match(list.stdout, /2 federation relationships found\./);
  const info = await tpctl(['federation', 'info', TD, 'remote.example'], cliEnv);
  assert.match(info.stdout, /Peer trust domain:\s+remote\.example/);
  const refreshed = await cli<{ refresh_requested_at: string | null }>(['federation', 'refresh', TD, external.id]);
  assert.ok(refreshed.refresh_requested_at !== null);

  const outside = await tpctl(['federation', 'create', TD, '--peer-trust-domain', 'evil.example', '--bundle-endpoint-url', 'https://169.254.169.254/latest'], cliEnv);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /bundleEndpointUrl/);

  const deleted = await tpctl(['federation', 'delete', TD, 'remote.example'], cliEnv);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal((await cli<unknown[]>(['federation', 'list', TD])).length, 1);
  assert.notEqual((await tpctl(['federation', 'info', TD, 'remote.example'], cliEnv)).code, 0);
});

test('delivery: an entry that federates with a peer of this installation gets its bundle on the Workload API; deleting the relationship takes it away', async () => {
  const PEER = 'delivered-peer.example';
  const peer = await cli<{ id: string }>(['trust-domain', 'create', PEER]);
  await cli(['entry', 'create', TD, '--spiffe-id', `spiffe://${TD}/e2e/federated`, '--parent-id', PARENT, '--selector', `unix:uid:${process.getuid?.() ?? 0}`, '--federates-with', PEER]);
  await cli(['federation', 'create', TD, '--peer-trust-domain-id', peer.id]);
  // The peer's CA as its own public bundle endpoint publishes it.
  const peerBundleUrl = endpoints.bundle.replace(/\/td-[0-9a-z]{10}\/bundle$/, `/${peer.id}/bundle`);
  let peerCas: string[] = [];
  await eventually(async () => {
    const response = await fetch(peerBundleUrl);
    if (!response.ok) return false;
    const bundle = (await response.json()) as { keys: { use: string; x5c?: string[] }[] };
    peerCas = bundle.keys.filter((k) => k.use === 'x509-svid').map((k) => k.x5c?.[0] ?? '');
    return peerCas.length > 0;
  }, 30_000, 'the peer trust domain has a bundle');

  const client = new workload.SpiffeWorkloadAPIClient(`unix://${agent.socketPath}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  const stream = client.fetchX509Svid({}, md);
  const federated: Record<string, Buffer>[] = [];
  stream.on('data', (message: { federatedBundles: Record<string, Buffer> }) => federated.push(message.federatedBundles));
  stream.on('error', () => undefined);
  try {
    const key = `spiffe://${PEER}`;
    await eventually(() => federated.some((bundles) => bundles[key] !== undefined), 30_000, 'the federated bundle on FetchX509SVID');
    const delivered = federated.findLast((bundles) => bundles[key] !== undefined)?.[key] ?? Buffer.alloc(0);
    const expected = Buffer.concat(peerCas.map((b64) => Buffer.from(b64, 'base64')));
    assert.deepEqual(delivered, expected, 'the peer CA certificates, concatenated DER, as the peer publishes them');

    assert.equal((await tpctl(['federation', 'delete', TD, PEER], cliEnv)).code, 0);
    await eventually(() => {
      const last = federated.at(-1);
      return last !== undefined && last[key] === undefined;
    }, 30_000, 'the federated bundle gone after the relationship is deleted');

    // Federating again brings it back; deleting the peer trust domain itself takes it away too.
    await cli(['federation', 'create', TD, '--peer-trust-domain-id', peer.id]);
    await eventually(() => federated.at(-1)?.[key] !== undefined, 30_000, 'the federated bundle back');
    const deleted = await tpctl(['trust-domain', 'delete', PEER], cliEnv);
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually(() => {
      const last = federated.at(-1);
      return last !== undefined && last[key] === undefined;
    }, 30_000, 'the federated bundle gone after the peer trust domain is deleted');
  } finally {
    stream.cancel();
    client.close();
  }
});

test('delivery of an external peer: the federation service fetches its bundle over https_web (operator CA file) and the workload receives it', async () => {
  const PEER = 'external-peer.example';
  await cli(['entry', 'create', TD, '--spiffe-id', `spiffe://${TD}/e2e/external`, '--parent-id', PARENT, '--selector', `unix:uid:${process.getuid?.() ?? 0}`, '--federates-with', PEER]);
  await cli(['federation', 'create', TD, '--peer-trust-domain', PEER, '--bundle-endpoint-url', `https://127.0.0.1:${peerEndpointPort}/bundle`]);
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${agent.socketPath}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  const stream = client.fetchX509Svid({}, md);
  const federated: Record<string, Buffer>[] = [];
  stream.on('data', (message: { federatedBundles: Record<string, Buffer> }) => federated.push(message.federatedBundles));
  stream.on('error', () => undefined);
  try {
    const key = `spiffe://${PEER}`;
    await eventually(() => federated.some((bundles) => bundles[key] !== undefined), 40_000, 'the fetched peer bundle on FetchX509SVID');
    assert.deepEqual(federated.findLast((bundles) => bundles[key] !== undefined)?.[key], externalPeerCaDer);
  } finally {
    stream.cancel();
    client.close();
  }
});

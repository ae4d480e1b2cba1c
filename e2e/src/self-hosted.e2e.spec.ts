// A self-hosted trust domain with two deployments (two regions), each served by its own signer
// process in self-hosted mode with its own nats-server, its own database and its own KeyManager
// (no access to the control plane's NATS or PostgreSQL), fed only by the control plane's sync
// stream over a control-plane credential: the real auth service issues it for the deployment key
// `tpctl trust-domain deployment create` printed (the signer is configured with exactly the
// printed Helm values: deployment id, key id, private key), through the registry's forwarded
// routes. An agent attests to each signer exactly as to a managed one; workloads in both
// regions get SVIDs and bundles carrying both CAs, and do mutual TLS with each other.
// Configuration State goes Pending → Up to date after a config change; disabling the only key
// cuts a region off once its credential expires, enabling it restores it; rotating to a second
// key (restart with it, disable the first) leaves no gap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Metadata, credentials } from '@grpc/grpc-js';
import { fetchControlPlaneCredential } from '@trustplane/auth-client';
import { workload } from '@trustplane/proto';
import {
  createTestDatabase,
  eventually,
  freePort,
  startAgentProcess,
  startPrivateNats,
  startServiceProcess,
  testAuthEnv,
  testNatsEnv,
  testStreamSettings,
  connectTestNats,
  deleteTestStream,
  tpctl,
  scanForPrivateKeys,
  unsealDiskKeyStore,
  type PrivateNats,
  type RunningAgent,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';

const TD = 'on-prem.example.com';
const CREDENTIAL_TTL_SECONDS = 10;
const work = mkdtempSync(join(tmpdir(), 'tpsh-'));
let nc: NatsConnection;
let cpDb: TestDatabase;
let cpStream: TestStream;
let registry: RunningService;
/** The control plane's own (managed) signer: publishes the trust domain's bundle from the reports. */
let controlPlaneSigner: RunningService;
/** The real auth service (deployment keys, the credential exchange, the JWKS). */
let auth: RunningService;
let apiToken: string;
let trustDomainId: string;

/** One region: its deployment, its own bus and database, its signer and its agent. */
interface Region {
  readonly name: string;
  readonly deploymentId: string;
  readonly clusterId: string;
  readonly nats: PrivateNats;
  readonly db: TestDatabase;
  readonly signerEnv: Record<string, string>;
  readonly signerPort: number;
  readonly agentPort: number;
  /** The deployment key the signer currently runs with (changes with a rotation). */
  key: { id: string; privateKeyPem: string };
  /** Every private key the region was given (none may show up anywhere else). */
  readonly allKeys: string[];
  signer: RunningService;
  agent?: RunningAgent;
}
const regions: Region[] = [];

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${registry.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function deploymentState(deploymentId: string): Promise<string> {
  const view = await api('GET', `/api/v1/trust-domains/${trustDomainId}/deployments/${deploymentId}`);
  return String(view.json['configurationState']);
}

/** The reported CA certificates of every deployment, from the control plane's stream. */
async function reportedAuthorities(deploymentId: string): Promise<Map<string, string[]>> {
  const region = regions.find((r) => r.deploymentId === deploymentId);
  assert.ok(region !== undefined);
  const { credential } = await fetchControlPlaneCredential(registry.url, { privateKeyPem: region.key.privateKeyPem, keyId: region.key.id, deploymentId });
  const controller = new AbortController();
  const response = await fetch(`${registry.url}/api/v1/sync/stream`, { headers: { authorization: `Bearer ${credential}` }, signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = response.body?.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const chunk = await reader?.read();
    if (chunk === undefined || chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  controller.abort();
  const first = JSON.parse(text.slice(0, text.indexOf('\n'))) as { state: { authorities: { deploymentId: string; keysets: { state: string; x509Authorities: string[] }[] }[] } };
  return new Map(first.state.authorities.map((a) => [a.deploymentId, a.keysets.filter((k) => k.state === 'active').flatMap((k) => k.x509Authorities)]));
}

/** DER certificates concatenated (as the Workload API sends chains and bundles), split apart. */
function splitDer(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const first = data[at + 1] ?? 0;
    const lengthBytes = first & 0x80 ? first & 0x7f : 0;
    const length = lengthBytes === 0 ? first : data.subarray(at + 2, at + 2 + lengthBytes).reduce((sum, byte) => sum * 256 + byte, 0);
    const end = at + 2 + lengthBytes + length;
    out.push(data.subarray(at, end));
    at = end;
  }
  return out;
}

const pem = (der: Buffer, label: string): string => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** The first X509SVIDResponse of an agent's Workload API holding `spiffeId`. */
/**
 * The workload's SVID once its agent has it: PermissionDenied ("no identity issued") while the
 * entry is still on its way to a freshly attested agent is retried, up to 60 s.
 */
async function fetchSvid(socketPath: string, spiffeId: string): Promise<workload.X509SVID> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await fetchSvidOnce(socketPath, spiffeId);
    } catch (error) {
      if ((error as { code?: number }).code !== 7 || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function fetchSvidOnce(socketPath: string, spiffeId: string): Promise<workload.X509SVID> {
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  const call = client.fetchX509Svid({}, md);
  try {
    return await new Promise<workload.X509SVID>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SVID ${spiffeId} within 60 s`)), 60_000);
      call.on('data', (message: workload.X509SVIDResponse) => {
        const svid = message.svids.find((s) => s.spiffeId === spiffeId);
        if (svid !== undefined) {
          clearTimeout(timer);
          resolve(svid);
        }
      });
      call.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    call.cancel();
    client.close();
  }
}

/** Deployment id, key id and private key from the Helm values `tpctl trust-domain deployment create` prints. */
function helmValuesOf(stdout: string): { deploymentId: string; keyId: string; privateKeyPem: string } {
  const values = stdout.slice(stdout.indexOf('trustDomainDeployment:'));
  const deploymentId = /^ {2}id: (tdd-[a-z0-9]{10})$/m.exec(values)?.[1];
  const keyId = /^ {8}id: "(tdk-[a-z0-9]{10})"$/m.exec(values)?.[1];
  const pemLines = /^ {8}pem: \|\n((?: {10}.*\n)+)/m.exec(values)?.[1];
  assert.ok(deploymentId !== undefined && keyId !== undefined && pemLines !== undefined, `no Helm values in:\n${stdout.replace(/PRIVATE KEY-----[^-]*-----END/g, 'PRIVATE KEY-----…-----END')}`);
  return { deploymentId, keyId, privateKeyPem: pemLines.split('\n').map((line) => line.slice(10)).join('\n') };
}

async function startSigner(region: Region): Promise<RunningService> {
  return startServiceProcess('signer', region.signerEnv, region.signerPort);
}

before(async () => {
  nc = await connectTestNats();
  cpDb = await createTestDatabase('e2e_sh_cp');
  cpStream = testStreamSettings('e2e_sh_cp');
  const [registryPort, authPort] = [await freePort(), await freePort()];
  // Short-lived credentials: the signers renew them all along (and a disabled key bites soon).
  auth = await startServiceProcess('auth', testAuthEnv(cpDb, cpStream, authPort, { TP_AUTH_CREDENTIAL_TTL_SECONDS: String(CREDENTIAL_TTL_SECONDS) }), authPort);
  const registryEnv = {
    ...testNatsEnv(),
    DATABASE_URL: cpDb.url,
    TP_EVENT_STREAM: cpStream.streamName,
    TP_SUBJECT_PREFIX: cpStream.subjectPrefix,
    TP_REGISTRY_PORT: String(registryPort),
    TP_REGISTRY_AUTH_URL: auth.url,
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startServiceProcess('registry', registryEnv, registryPort);
  const cpSignerPort = await freePort();
  controlPlaneSigner = await startServiceProcess(
    'signer',
    {
      ...testNatsEnv(),
      DATABASE_URL: cpDb.url,
      TP_EVENT_STREAM: cpStream.streamName,
      TP_SUBJECT_PREFIX: cpStream.subjectPrefix,
      TP_LOG_LEVEL: 'warn',
      TP_SIGNER_PORT: String(cpSignerPort),
      TP_SIGNER_CUSTODY_DIR: join(work, 'cp', 'c'),
      TP_SIGNER_KEY_DIR: join(work, 'cp', 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'cp', 'kek'),
      TP_SIGNER_TICK_MS: '200',
    },
    cpSignerPort,
  );
  const cli = { ...registryEnv, TPCTL_SERVER: registry.url };
  const org = JSON.parse((await tpctl(['org', 'create', '--name', 'Regions', '--output', 'json'], cli)).stdout) as { id: string };
  apiToken = (JSON.parse((await tpctl(['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'e2e', '--output', 'json'], cli)).stdout) as { token: string }).token;
  await eventually(async () => (await api('GET', '/api/v1/organization')).status === 200, 10_000, 'token accepted');
  const td = await api('POST', '/api/v1/trust-domains', { name: TD, kind: 'self-hosted' });
  assert.equal(td.status, 201, JSON.stringify(td.json));
  trustDomainId = String(td.json['id']);
  // The auth service projects the organization and its token from the log too.
  await eventually(async () => (await fetch(`${auth.url}/api/v1/trust-domains/none/deployments/none/keys`, { headers: { authorization: `Bearer ${apiToken}` } })).status === 404, 20_000, 'auth knows the token');
  const operator = { TPCTL_SERVER: registry.url, TPCTL_TOKEN: apiToken };
  for (const name of ['us-west-2', 'eu-central-1']) {
    // As the guide does it: the deployment and its first key, printed once with the Helm values.
    const created = await tpctl(['trust-domain', 'deployment', 'create', TD, name, '--region', name], operator);
    assert.equal(created.code, 0, created.stderr);
    const helm = helmValuesOf(created.stdout);
    const deploymentId = helm.deploymentId;
    const keyFile = join(work, `${name}.deployment-key.pem`);
    writeFileSync(keyFile, helm.privateKeyPem, { mode: 0o600 });
    const cluster = await api('POST', `/api/v1/trust-domains/${trustDomainId}/clusters`, { name: name.split('-')[0] === 'us' ? 'west' : 'east', platform: 'linux' });
    assert.equal(cluster.status, 201, JSON.stringify(cluster.json));
    // Its own bus, database and key store: nothing shared with the control plane or the other region.
    const nats = await startPrivateNats();
    const db = await createTestDatabase(`e2e_sh_${name.replace(/-/g, '_')}`);
    const dir = join(work, name);
    const signerPort = await freePort();
    const agentPort = await freePort();
    const registryUser = nats.credentials.registry;
    assert.ok(registryUser !== undefined);
    const signerEnv = {
      ...nats.envFor('signer'),
      DATABASE_URL: db.url,
      TP_EVENT_STREAM: `TP_SH_${name.replace(/-/g, '_').toUpperCase()}`,
      TP_SUBJECT_PREFIX: 'tp',
      TP_LOG_LEVEL: 'info',
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_AGENT_PORT: String(agentPort),
      TP_SIGNER_AGENT_HOST: '127.0.0.1',
      TP_SIGNER_CUSTODY_DIR: join(dir, 'c'),
      TP_SIGNER_KEY_DIR: join(dir, 'keys'),
      TP_SIGNER_KEK_PATH: join(dir, 'kek'),
      TP_SIGNER_TICK_MS: '200',
      TP_SIGNER_MODE: 'self-hosted',
      TP_SIGNER_DEPLOYMENT_ID: deploymentId,
      // The printed values, as given: deployment id, key id, private key (a file, as a mounted secret).
      TP_SIGNER_DEPLOYMENT_KEY_ID: helm.keyId,
      TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE: keyFile,
      // One URL for everything: the registry forwards the credential exchange to the auth service.
      TP_SIGNER_CONTROL_PLANE_URL: registry.url,
      TP_SIGNER_MIRROR_NATS_USER: registryUser.user,
      TP_SIGNER_MIRROR_NATS_PASSWORD: registryUser.password,
      TP_SIGNER_REPORT_INTERVAL_MS: '500',
    };
    const region: Region = { name, key: { id: helm.keyId, privateKeyPem: helm.privateKeyPem }, allKeys: [helm.privateKeyPem], deploymentId, clusterId: String(cluster.json['id']), nats, db, signerEnv, signerPort, agentPort, signer: undefined as unknown as RunningService };
    region.signer = await startSigner(region);
    regions.push(region);
  }
});

after(async () => {
  // The registry stops first, with both signers' streams open: it ends them and exits cleanly.
  const stopped = Date.now();
  assert.equal(await registry?.stop(), 0, registry?.output());
  assert.ok(Date.now() - stopped < 20_000, 'open sync streams do not hold the registry up');
  if (process.env['TP_E2E_DUMP'] !== undefined) writeFileSync(`${process.env['TP_E2E_DUMP']}.control-plane`, `${registry?.output() ?? ''}\n---signer---\n${controlPlaneSigner?.output() ?? ''}`);
  await controlPlaneSigner?.stop();
  for (const region of regions) {
    if (process.env['TP_E2E_DUMP'] !== undefined) writeFileSync(`${process.env['TP_E2E_DUMP']}.${region.name}`, `${region.agent?.output() ?? ''}\n---signer---\n${region.signer.output()}`);
    await region.agent?.stop();
    await region.signer.stop();
    await region.nats.stop();
    await region.db.drop();
  }
  if (auth !== undefined) assert.equal(await auth.stop(), 0, auth.output().slice(-2000));
  await deleteTestStream(nc, cpStream.streamName);
  await nc.close();
  await cpDb.drop();
});

test('both self-hosted signers sync, report their CAs and become Up to date; the trust domain is available', async (t) => {
  const started = Date.now();
  for (const region of regions) {
    await eventually(async () => (await deploymentState(region.deploymentId)) === 'Up to date', 60_000, `${region.name} up to date`);
    t.diagnostic(`${region.name} up to date after ${Date.now() - started} ms`);
  }
  const info = await api('GET', `/api/v1/trust-domains/${trustDomainId}`);
  assert.equal(info.json['status'], 'available');
  await eventually(async () => {
    const reported = await reportedAuthorities(regions[0]?.deploymentId ?? '');
    return regions.every((r) => (reported.get(r.deploymentId) ?? []).length > 0);
  }, 60_000, 'both deployments reported an active CA');
  t.diagnostic(`both CAs reported after ${Date.now() - started} ms`);
  const reported = await reportedAuthorities(regions[0]?.deploymentId ?? '');
  const [west, east] = regions.map((r) => reported.get(r.deploymentId)?.[0] ?? '');
  assert.notEqual(west, east, 'each region has its own CA (its own KeyManager)');
  // The control plane publishes the trust domain's bundle from what both regions reported.
  await eventually(async () => {
    const bundle = await api('GET', `/api/v1/trust-domains/${trustDomainId}/bundle`);
    const x5c = ((bundle.json['keys'] ?? []) as { use: string; x5c?: string[] }[]).filter((k) => k.use === 'x509-svid').map((k) => k.x5c?.[0]);
    return bundle.status === 200 && x5c.length === 2 && x5c.includes(west) && x5c.includes(east);
  }, 60_000, 'the control plane bundle holds both regions\' CAs');
  t.diagnostic(`control-plane bundle with both CAs after ${Date.now() - started} ms`);
  // Neither signer ever reached the control plane's bus or database: they only know their own.
  const controlPlaneBus = testNatsEnv()['NATS_URL'] ?? '';
  for (const region of regions) {
    assert.ok(!region.signerEnv['NATS_URL']?.includes(String(new URL(controlPlaneBus).port)));
    assert.notEqual(region.signerEnv['DATABASE_URL'], cpDb.url);
    // The mirror's registry-role user is the region's own nats-server's: it does not open the control plane's bus.
    assert.equal(region.signerEnv['TP_SIGNER_MIRROR_NATS_USER'], region.nats.credentials.registry?.user);
    await assert.rejects(
      natsConnect({ servers: controlPlaneBus, user: region.signerEnv['TP_SIGNER_MIRROR_NATS_USER'], pass: region.signerEnv['TP_SIGNER_MIRROR_NATS_PASSWORD'], reconnect: false, timeout: 5_000 }),
      /auth|Authorization/i,
      `${region.name}'s mirror credentials must not open the control plane's bus`,
    );
  }
});

test('an agent attests to each region; workloads of both regions do mutual TLS with each other', async () => {
  // Entries, one workload per region, each under its region's agent.
  const uid = process.getuid?.() ?? 0;
  const names = ['west', 'east'];
  for (const [i, region] of regions.entries()) {
    const agentId = `spiffe://${TD}/agent/${names[i]}/node-1`;
    const entry = await api('POST', `/api/v1/trust-domains/${trustDomainId}/entries`, { spiffeId: `spiffe://${TD}/${names[i]}-app`, parentId: agentId, selectors: [`unix:uid:${uid}`] });
    assert.equal(entry.status, 201, JSON.stringify(entry.json));
    const token = await api('POST', `/api/v1/trust-domains/${trustDomainId}/clusters/${region.clusterId}/join-tokens`, { ttlSeconds: 600 });
    assert.equal(token.status, 201, JSON.stringify(token.json));
    await eventually(async () => (await deploymentState(region.deploymentId)) === 'Up to date', 60_000, `${region.name} applied the token and entries`);
    // Bootstrap trust: the trust domain's bundle as the control plane publishes it (`tpctl trust-domain bundle`).
    const bundle = await api('GET', `/api/v1/trust-domains/${trustDomainId}/bundle`);
    assert.equal(bundle.status, 200);
    const authorities = ((bundle.json['keys'] ?? []) as { use: string; x5c?: string[] }[]).filter((k) => k.use === 'x509-svid').map((k) => k.x5c?.[0] ?? '');
    const bundlePath = join(work, `${region.name}-bundle.pem`);
    writeFileSync(bundlePath, authorities.map((der) => pem(Buffer.from(der, 'base64'), 'CERTIFICATE')).join(''));
    region.agent = await startAgentProcess(
      {
        TP_LOG_LEVEL: 'info',
        TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${region.agentPort}`,
        TP_AGENT_TRUST_DOMAIN_ID: trustDomainId,
        TP_AGENT_TRUST_DOMAIN: TD,
        TP_AGENT_NODE_NAME: 'node-1',
        TP_AGENT_JOIN_TOKEN: String(token.json['token']),
        TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
        TP_AGENT_DATA_DIR: join(work, `${region.name}-agent`),
      },
      { healthPort: await freePort(), socketPath: join(work, `${region.name}.sock`), timeoutMs: 60_000 },
    );
  }
  const [west, east] = await Promise.all(regions.map((region, i) => fetchSvid(region.agent?.socketPath ?? '', `spiffe://${TD}/${names[i]}-app`)));
  assert.ok(west !== undefined && east !== undefined);
  // Each workload's bundle holds both regions' CAs.
  const westBundle = splitDer(west.bundle);
  const eastBundle = splitDer(east.bundle);
  assert.equal(westBundle.length, 2, 'west bundle: both CAs');
  assert.equal(eastBundle.length, 2, 'east bundle: both CAs');
  const issuerOf = (svid: workload.X509SVID) => new X509Certificate(splitDer(svid.x509Svid)[0] ?? Buffer.alloc(0)).issuer;
  assert.notEqual(issuerOf(west), issuerOf(east), 'each region signs with its own CA');
  // Mutual TLS: the west workload serves, the east workload connects; each verifies the other with its own bundle.
  const chainPem = (svid: workload.X509SVID) => splitDer(svid.x509Svid).map((der) => pem(der, 'CERTIFICATE')).join('');
  const keyPem = (svid: workload.X509SVID) => pem(svid.x509SvidKey, 'PRIVATE KEY');
  const uriOf = (socket: TLSSocket) => (socket.getPeerCertificate().subjectaltname ?? '').replace(/^URI:/, '');
  const server = createTlsServer(
    { cert: chainPem(west), key: keyPem(west), ca: westBundle.map((der) => pem(der, 'CERTIFICATE')), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.end(`hello ${uriOf(socket)} from ${west.spiffeId}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const answer = await new Promise<{ text: string; peer: string }>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        cert: chainPem(east),
        key: keyPem(east),
        ca: eastBundle.map((der) => pem(der, 'CERTIFICATE')),
        rejectUnauthorized: true,
        // SPIFFE authentication: the peer's URI SAN, not a host name.
        checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:${west.spiffeId}` ? undefined : new Error(`unexpected peer ${cert.subjectaltname}`)),
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve({ text, peer: uriOf(socket) }));
      socket.on('error', reject);
    });
    assert.equal(answer.peer, west.spiffeId);
    assert.equal(answer.text, `hello ${east.spiffeId} from ${west.spiffeId}`);
  } finally {
    server.close();
  }
});

test('Configuration State: Pending while a region has not applied a change, Up to date once it has', async () => {
  const [west, east] = regions as [Region, Region];
  await east.signer.stop();
  const entry = await api('POST', `/api/v1/trust-domains/${trustDomainId}/entries`, { spiffeId: `spiffe://${TD}/late`, parentId: `spiffe://${TD}/agent/east/node-1`, selectors: ['unix:uid:4242'] });
  assert.equal(entry.status, 201);
  assert.equal(await deploymentState(east.deploymentId), 'Pending', 'east is down: the change is pending there');
  await eventually(async () => (await deploymentState(west.deploymentId)) === 'Up to date', 60_000, 'west applied the change');
  const pending = await api('GET', `/api/v1/trust-domains/${trustDomainId}/deployments/${east.deploymentId}`);
  assert.equal(pending.json['configurationState'], 'Pending');
  east.signer = await startSigner(east);
  await eventually(async () => (await deploymentState(east.deploymentId)) === 'Up to date', 60_000, 'east caught up after its restart (resumed from its applied position)');
  const view = await api('GET', `/api/v1/trust-domains/${trustDomainId}/deployments/${east.deploymentId}`);
  assert.ok(typeof view.json['lastConfiguredAt'] === 'string');
});

/** `POST …/keys/{k}/enable|disable` through the registry (forwarded to the auth service). */
async function setKey(region: Region, keyId: string, action: 'enable' | 'disable'): Promise<void> {
  const answer = await api('POST', `/api/v1/trust-domains/${trustDomainId}/deployments/${region.deploymentId}/keys/${keyId}/${action}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  assert.equal(answer.json['state'], action === 'enable' ? 'active' : 'disabled');
}

test('disabling the only deployment key cuts the region off once its credential expires; enabling it again restores it', async () => {
  const [west, east] = regions as [Region, Region];
  await eventually(async () => (await deploymentState(west.deploymentId)) === 'Up to date', 60_000, 'west up to date first');
  await setKey(west, west.key.id, 'disable');
  // The credential already issued keeps working until it expires; then the stream ends and no new one is issued.
  await new Promise((resolve) => setTimeout(resolve, (CREDENTIAL_TTL_SECONDS + 2) * 1000));
  const entry = await api('POST', `/api/v1/trust-domains/${trustDomainId}/entries`, { spiffeId: `spiffe://${TD}/while-cut-off`, parentId: `spiffe://${TD}/agent/west/node-1`, selectors: ['unix:uid:4343'] });
  assert.equal(entry.status, 201);
  await eventually(async () => (await deploymentState(east.deploymentId)) === 'Up to date', 60_000, 'east applied the change');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(await deploymentState(west.deploymentId), 'Pending', 'west is cut off: the change does not reach it');
  // The real auth service refused the exchange with the key's state.
  assert.match(west.signer.output(), /DEPLOYMENT_KEY_DISABLED/);
  // The agent keeps being served by its region meanwhile (the signer runs on what it applied).
  assert.equal((await fetch(`${west.agent?.healthUrl ?? ''}/readyz`)).status, 200);
  await setKey(west, west.key.id, 'enable');
  await eventually(async () => (await deploymentState(west.deploymentId)) === 'Up to date', 60_000, 'west restored once its key is enabled');
});

test('rotating the deployment key with two active keys leaves no gap: restart on the new key, disable the old one', async () => {
  const east = regions[1] as Region;
  await eventually(async () => (await deploymentState(east.deploymentId)) === 'Up to date', 60_000, 'east up to date first');
  const svidBefore = await fetchSvid(east.agent?.socketPath ?? '', `spiffe://${TD}/east-app`);
  // Watch the region's Configuration State all along the rotation.
  const seen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.add(await deploymentState(east.deploymentId));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  try {
    const old = east.key;
    const created = await api('POST', `/api/v1/trust-domains/${trustDomainId}/deployments/${east.deploymentId}/keys`);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const next = { id: String(created.json['id']), privateKeyPem: String(created.json['privateKeyPem']) };
    east.allKeys.push(next.privateKeyPem);
    const keyFile = join(work, `${east.name}.deployment-key-2.pem`);
    writeFileSync(keyFile, next.privateKeyPem, { mode: 0o600 });
    // Restart the signer with the new key (both keys are active meanwhile).
    await east.signer.stop();
    east.signerEnv['TP_SIGNER_DEPLOYMENT_KEY_ID'] = next.id;
    east.signerEnv['TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE'] = keyFile;
    east.key = next;
    east.signer = await startSigner(east);
    const keys = await api('GET', `/api/v1/trust-domains/${trustDomainId}/deployments/${east.deploymentId}/keys`);
    assert.deepEqual((keys.json['items'] as { id: string; state: string }[]).map((k) => [k.id, k.state]).sort(), [[old.id, 'active'], [next.id, 'active']].sort());
    // The new key is in use (it was last used after the restart), then the old one goes.
    await eventually(async () => {
      const listed = await api('GET', `/api/v1/trust-domains/${trustDomainId}/deployments/${east.deploymentId}/keys`);
      return (listed.json['items'] as { id: string; lastUsedAt: string | null }[]).some((k) => k.id === next.id && k.lastUsedAt !== null);
    }, 60_000, 'the restarted signer exchanged its new key');
    await setKey(east, old.id, 'disable');
    // Past the lifetime of any credential of the old key, a change still reaches the region.
    await new Promise((resolve) => setTimeout(resolve, (CREDENTIAL_TTL_SECONDS + 2) * 1000));
    const entry = await api('POST', `/api/v1/trust-domains/${trustDomainId}/entries`, { spiffeId: `spiffe://${TD}/after-rotation`, parentId: `spiffe://${TD}/agent/east/node-1`, selectors: ['unix:uid:4444'] });
    assert.equal(entry.status, 201);
    await eventually(async () => (await deploymentState(east.deploymentId)) === 'Up to date', 60_000, 'east applied the change on its new key');
    assert.doesNotMatch(east.signer.output(), /DEPLOYMENT_KEY_DISABLED|EXCHANGE_REFUSED/, 'the new key was never refused');
  } finally {
    watching = false;
    await watcher;
  }
  assert.ok(!seen.has('Unknown'), `the region never lost its state: ${[...seen].join(', ')}`);
  // The agent kept its SVID and is served by the restarted signer, under the same CA.
  assert.equal((await fetch(`${east.agent?.healthUrl ?? ''}/readyz`)).status, 200);
  const svidAfter = await fetchSvid(east.agent?.socketPath ?? '', `spiffe://${TD}/east-app`);
  const issuerOf = (svid: workload.X509SVID) => new X509Certificate(splitDer(svid.x509Svid)[0] ?? Buffer.alloc(0));
  assert.equal(issuerOf(svidAfter).issuer, issuerOf(svidBefore).issuer);
  assert.ok(new Date(issuerOf(svidAfter).validTo).getTime() > Date.now(), 'the SVID is valid');
});

test('the deployment private key never leaves the signer: not in its output, not in the control plane\'s log', async () => {
  for (const region of regions) {
    for (const privateKeyPem of region.allKeys) {
      const pemBody = privateKeyPem.split('\n').slice(1, -2).join('');
      assert.ok(pemBody.length > 20);
      assert.ok(!region.signer.output().includes(pemBody), `${region.name} signer output holds its deployment key`);
    }
    assert.doesNotMatch(region.signer.output(), /PRIVATE KEY/);
  }
  const deploymentKeys = regions.flatMap((r) => r.allKeys.map((pem, i) => ({ name: `${r.name} deployment key ${i}`, key: createPrivateKey(pem) })));
  const controlPlane = await scanForPrivateKeys({ nc, streamName: cpStream.streamName, pool: cpDb.pool, logs: { registry: registry.output(), auth: auth.output() }, keys: deploymentKeys });
  assert.deepEqual(controlPlane.found, []);
  assert.ok(controlPlane.events > 0);
  // Each region's own log and database hold neither its deployment key nor its CA keys.
  for (const region of regions) {
    const caKeys = await unsealDiskKeyStore(region.signerEnv['TP_SIGNER_KEY_DIR'] ?? '', region.signerEnv['TP_SIGNER_KEK_PATH'] ?? '');
    assert.ok(caKeys.length >= 2, 'the region holds its CA keys in its own key store');
    const local = await region.nats.connect('admin');
    try {
      const scan = await scanForPrivateKeys({
        nc: local,
        streamName: region.signerEnv['TP_EVENT_STREAM'] ?? '',
        pool: region.db.pool,
        logs: { signer: region.signer.output(), agent: region.agent?.output() ?? '' },
        keys: [...caKeys, ...deploymentKeys],
      });
      assert.deepEqual(scan.found, [], region.name);
      assert.ok(scan.events > 0);
    } finally {
      await local.close();
    }
  }
});

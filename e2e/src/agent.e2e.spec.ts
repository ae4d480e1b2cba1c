// The node agent and the signer's agent API as real processes on real NATS and Postgres: node
// attestation (join token once, cluster key, ban), entries pushed to a workload's
// FetchX509SVID stream (openssl verifies the SVID), removal, rotation, CA taint, agent restart
// with the persisted identity, and a signer outage the workload stream survives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/transport-node';
import { uuidv7 } from '@trustplane/events';
import { EventLog, handleCommand, type CommandContext } from '@trustplane/eventstore';
import { workload } from '@trustplane/proto';
import {
  AGENT,
  CLUSTER,
  DEPLOYMENT,
  API_TOKEN,
  ENTRY,
  JOIN_TOKEN,
  TRUST_DOMAIN,
  agentDecider,
  apiTokenDecider,
  mintToken,
  agentIdFor,
  clusterDecider,
  deploymentDecider,
  entryDecider,
  joinTokenDecider,
  mintJoinToken,
  newJoinTokenId,
  trustDomainDecider,
} from '@trustplane/registry-domain';
import { bundleX509AuthoritiesPem, certificatesPem, newResourceId, type SpiffeBundleDocument } from '@trustplane/spiffe';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  scanForPrivateKeys,
  unsealDiskKeyStore,
  repoRoot,
  testNatsEnv,
  testStreamSettings,
  type KnownPrivateKey,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { freePort, startAgentProcess, exitCodeOf, startServiceProcess, type RunningAgent, type RunningService } from '@trustplane/testkit';

const TD = 'agents.example';
let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let log: EventLog;
let signer: RunningService;
let signerEnv: Record<string, string>;
let signerPort: number;
let agentPort: number;
let agent: RunningAgent;
let agentEnv: Record<string, string>;
let agentHealthPort: number;
let bundlePath: string;
const work = mkdtempSync(join(tmpdir(), 'tpa-'));
const tenant = newResourceId('organization');
const trustDomainId = newResourceId('trustDomain');
const deploymentId = newResourceId('deployment');
const clusterId = newResourceId('cluster');
const clusterName = 'edge';
const nodeName = 'node-1';
const agentSpiffeId = `spiffe://${TD}/agent/${clusterName}/${nodeName}`;
let joinToken: string;
let clusterKeyPem: string;

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'system', id: 'e2e' }, correlationId: id, causationId: id, now: new Date() };
}

/** Signer requests carry an authority: an API token of the organization, as the registry sends. */
const authority = { kind: 'api-token', tenant, tokenId: newResourceId('apiToken'), scopes: ['admin'] };

async function request<T>(operation: string, body: Record<string, unknown>): Promise<T> {
  const reply = await nc.request(`${stream.subjectPrefix}.cmd.signer.${operation}`, JSON.stringify({ ...body, authority }), { timeout: 15_000 });
  return JSON.parse(new TextDecoder().decode(reply.data)) as T;
}

async function newJoinToken(): Promise<string> {
  const id = newJoinTokenId();
  const minted = mintJoinToken(id);
  await handleCommand(log, joinTokenDecider, { tenant, aggregateType: JOIN_TOKEN, aggregateId: id }, { kind: 'create', trustDomainId, clusterId, salt: minted.salt, hash: minted.hash, ttlSeconds: 600 }, context());
  return minted.token;
}

async function createEntry(spiffePath: string, selectors: string[], extra: { x509SvidTtlSeconds?: number; parentId?: string } = {}): Promise<string> {
  const id = newResourceId('entry');
  await handleCommand(
    log,
    entryDecider,
    { tenant, aggregateType: ENTRY, aggregateId: id },
    {
      kind: 'create',
      trustDomainId,
      trustDomainName: TD,
      input: {
        spiffeId: `spiffe://${TD}${spiffePath}`,
        parentId: extra.parentId ?? agentSpiffeId,
        selectors,
        ...(extra.x509SvidTtlSeconds === undefined ? {} : { x509SvidTtlSeconds: extra.x509SvidTtlSeconds }),
      },
    },
    context(),
  );
  return id;
}

async function deleteEntry(id: string): Promise<void> {
  await handleCommand(log, entryDecider, { tenant, aggregateType: ENTRY, aggregateId: id }, { kind: 'delete' }, context());
}

async function agentEvents(id: string): Promise<string[]> {
  return (await log.readAggregate({ tenant, aggregateType: AGENT, aggregateId: id })).map((e) => e.event.type);
}

function splitDer(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const n = data[i + 1] ?? 0;
    let size = n;
    let header = 2;
    if (n >= 0x80) {
      const k = n & 0x7f;
      size = data.subarray(i + 2, i + 2 + k).reduce((acc, b) => acc * 256 + b, 0);
      header = 2 + k;
    }
    out.push(data.subarray(i, i + header + size));
    i += header + size;
  }
  return out;
}

/** Every workload private key (PKCS#8 DER) the agent handed out in this suite, for the key scan. */
const workloadKeys = new Map<string, Buffer>();

/** A FetchX509SVID stream of this (uid 0) process over the agent's socket. */
class SvidStream {
  readonly messages: workload.X509SVIDResponse[] = [];
  error: ServiceError | undefined;
  private readonly client: workload.SpiffeWorkloadAPIClient;
  private readonly call: ReturnType<workload.SpiffeWorkloadAPIClient['fetchX509Svid']>;
  constructor(socketPath: string) {
    this.client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
    const md = new Metadata();
    md.set('workload.spiffe.io', 'true');
    this.call = this.client.fetchX509Svid({}, md);
    this.call.on('data', (m: workload.X509SVIDResponse) => {
      this.messages.push(m);
      for (const svid of m.svids) workloadKeys.set(svid.x509SvidKey.toString('hex'), svid.x509SvidKey);
    });
    this.call.on('error', (e: ServiceError) => (this.error = e));
  }
  latest(): workload.X509SVIDResponse | undefined {
    return this.messages.at(-1);
  }
  ids(): string[] {
    return (this.latest()?.svids ?? []).map((s) => s.spiffeId).sort();
  }
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

async function fetchJwt(socketPath: string, audience: string): Promise<{ value?: workload.JWTSVIDResponse; error?: ServiceError; ms: number }> {
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  const started = Date.now();
  return new Promise((resolve) => {
    client.fetchJwtsvid({ audience: [audience], spiffeId: '' }, md, { deadline: Date.now() + 20_000 }, (error, value) => {
      client.close();
      resolve(error ? { error, ms: Date.now() - started } : { value, ms: Date.now() - started });
    });
  });
}

/** `name="value"` pairs of a Prometheus label set. */
function labelsOf(text: string): Map<string, string> {
  return new Map([...text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/**
 * One sample of the agent's /metrics: `name` or `name{label="value",…}` (those labels must match;
 * others, such as the service label, may be present). Throws when /metrics does not answer 200 or
 * has no such sample, so a metric can never pass by being absent.
 */
async function metric(healthUrl: string, name: string): Promise<number> {
  const response = await fetch(`${healthUrl}/metrics`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${healthUrl}/metrics answered ${response.status}`);
  const [, wantedName, wantedLabels] = /^(\w+)(?:\{(.*)\})?$/.exec(name) ?? [];
  const wanted = labelsOf(wantedLabels ?? '');
  for (const line of text.split('\n')) {
    const [, sampleName, sampleLabels, value] = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
    if (sampleName !== wantedName) continue;
    const labels = labelsOf(sampleLabels ?? '');
    if ([...wanted].every(([k, v]) => labels.get(k) === v)) return Number(value);
  }
  throw new Error(`no sample ${name} in ${healthUrl}/metrics`);
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_agent');
  stream = testStreamSettings('e2e_agent');
  log = await EventLog.open(nc, stream);
  const minted = mintToken(authority.tokenId);
  await handleCommand(log, apiTokenDecider, { tenant, aggregateType: API_TOKEN, aggregateId: authority.tokenId }, { kind: 'create', name: 'e2e', scopes: ['admin'], ttlDays: undefined, salt: minted.salt, hash: minted.hash, authority: { kind: 'host' } }, context());
  signerPort = await freePort();
  agentPort = await freePort();
  signerEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_LOG_LEVEL: 'warn',
    TP_SIGNER_PORT: String(signerPort),
    TP_SIGNER_AGENT_PORT: String(agentPort),
    TP_SIGNER_AGENT_HOST: '127.0.0.1',
    TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
    TP_SIGNER_TICK_MS: '200',
  };
  signer = await startServiceProcess('signer', signerEnv, signerPort);
  await handleCommand(log, trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId }, { kind: 'create', name: TD, description: '', trustDomainKind: 'managed' }, context());
  await handleCommand(log, deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId }, { kind: 'create', trustDomainId, name: 'default', region: '', managed: true }, context());
  const clusterKey = generateKeyPairSync('ed25519');
  clusterKeyPem = clusterKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await handleCommand(
    log,
    clusterDecider,
    { tenant, aggregateType: CLUSTER, aggregateId: clusterId },
    {
      kind: 'create',
      trustDomainId,
      name: clusterName,
      platform: 'linux',
      description: '',
      key: { keyId: 'ck-e2e0000001', publicKey: clusterKey.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
    },
    context(),
  );
  await eventually(async () => (await request<{ ok: boolean }>('bundle', { trustDomainId })).ok, 20_000, 'bundle published');
  const published = await request<{ document: SpiffeBundleDocument }>('bundle', { trustDomainId });
  bundlePath = join(work, 'bundle.pem');
  writeFileSync(bundlePath, bundleX509AuthoritiesPem(published.document));
  joinToken = await newJoinToken();
  agentHealthPort = await freePort();
  agentEnv = {
    TP_LOG_LEVEL: 'info',
    TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentPort}`,
    TP_AGENT_TRUST_DOMAIN_ID: trustDomainId,
    TP_AGENT_TRUST_DOMAIN: TD,
    TP_AGENT_NODE_NAME: nodeName,
    TP_AGENT_JOIN_TOKEN: joinToken,
    TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
    TP_AGENT_DATA_DIR: join(work, 'agent-1'),
  };
  agent = await startAgentProcess(agentEnv, { healthPort: agentHealthPort, socketPath: join(work, 'agent-1.sock') });
});

after(async () => {
  if (process.env['TP_E2E_DUMP'] !== undefined) writeFileSync(process.env['TP_E2E_DUMP'], `${agent?.output()}\n---signer---\n${signer.output()}`);
  await agent?.stop();
  assert.equal(await signer.stop(), 0, signer.output());
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('a join token attests the node: agent SVID spiffe://<td>/agent/<cluster>/<node>, persisted 0600; the token works once', async () => {
  const agentId = agentIdFor(clusterId, nodeName);
  assert.deepEqual(await agentEvents(agentId), ['agent.attested']);
  const state = JSON.parse(readFileSync(join(work, 'agent-1', 'agent-state.json'), 'utf8')) as { spiffeId: string; chain: string[] };
  assert.equal(state.spiffeId, agentSpiffeId);
  const leaf = new X509Certificate(Buffer.from(state.chain[0] ?? '', 'base64'));
  assert.equal(leaf.subjectAltName, `URI:${agentSpiffeId}`);
  const { statSync } = await import('node:fs');
  assert.equal(statSync(join(work, 'agent-1')).mode & 0o777, 0o700);
  assert.equal(statSync(join(work, 'agent-1', 'agent-key.pem')).mode & 0o777, 0o600);
  assert.doesNotMatch(agent.output(), new RegExp(joinToken.slice(5)), 'the join token is never logged');
  assert.doesNotMatch(agent.output(), /PRIVATE KEY/);

  // The same token again (another node): refused, the process exits.
  const port = await freePort();
  const second = await startAgentProcess(
    { ...agentEnv, TP_AGENT_NODE_NAME: 'node-dup', TP_AGENT_DATA_DIR: join(work, 'agent-dup') },
    { healthPort: port, socketPath: join(work, 'agent-dup.sock'), waitReady: false },
  );
  assert.equal(await exitCodeOf(second.process), 1, second.output());
  assert.match(second.output(), /JOIN_TOKEN_USED|already been used/);
  assert.deepEqual(await agentEvents(agentIdFor(clusterId, 'node-dup')), []);
});

test('an agent given a bundle of another CA refuses the signer: no attestation happens, the join token stays unused', async () => {
  const foreignCa = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=not-the-signer', '-days', '1'], { encoding: 'utf8' });
  assert.equal(foreignCa.status, 0, foreignCa.stderr);
  const wrongBundle = join(work, 'wrong-bundle.pem');
  writeFileSync(wrongBundle, foreignCa.stdout);
  const token = await newJoinToken();
  const port = await freePort();
  const lost = await startAgentProcess(
    { ...agentEnv, TP_AGENT_NODE_NAME: 'node-mitm', TP_AGENT_DATA_DIR: join(work, 'agent-mitm'), TP_AGENT_JOIN_TOKEN: token, TP_AGENT_TRUST_BUNDLE_PATH: wrongBundle },
    { healthPort: port, socketPath: join(work, 'agent-mitm.sock'), waitReady: false },
  );
  try {
    await eventually(async () => /attestation failed/.test(lost.output()), 15_000, 'attestation refused by the agent');
    assert.match(lost.output(), /certificate/i, lost.output());
    assert.deepEqual(await agentEvents(agentIdFor(clusterId, 'node-mitm')), []);
    assert.equal(await metric(lost.healthUrl, 'tp_agent_signer_connected'), 0, 'the refused agent is up and reports no signer connection');
  } finally {
    await lost.stop();
  }
  // The token was never presented to a server the agent trusted, so it still works.
  const honest = await startAgentProcess(
    { ...agentEnv, TP_AGENT_NODE_NAME: 'node-mitm', TP_AGENT_DATA_DIR: join(work, 'agent-mitm-2'), TP_AGENT_JOIN_TOKEN: token },
    { healthPort: await freePort(), socketPath: join(work, 'agent-mitm-2.sock') },
  );
  await honest.stop();
  assert.deepEqual(await agentEvents(agentIdFor(clusterId, 'node-mitm')), ['agent.attested']);
});

test('cluster-key attestation works; a banned agent is refused', async () => {
  const keyPath = join(work, 'cluster.key');
  writeFileSync(keyPath, clusterKeyPem, { mode: 0o600 });
  const port = await freePort();
  const env = { ...agentEnv, TP_AGENT_NODE_NAME: 'node-ck', TP_AGENT_DATA_DIR: join(work, 'agent-ck'), TP_AGENT_CLUSTER_ID: clusterId, TP_AGENT_CLUSTER_KEY_PATH: keyPath };
  delete (env as Record<string, string | undefined>)['TP_AGENT_JOIN_TOKEN'];
  const keyed = await startAgentProcess(env, { healthPort: port, socketPath: join(work, 'agent-ck.sock') });
  const agentId = agentIdFor(clusterId, 'node-ck');
  const attested = (await log.readAggregate({ tenant, aggregateType: AGENT, aggregateId: agentId }))[0]?.event;
  assert.equal(attested?.type, 'agent.attested');
  assert.equal((attested?.data as { method: string }).method, 'cluster_key');
  await eventually(async () => (await metric(keyed.healthUrl, 'tp_agent_signer_connected')) === 1, 10_000, 'keyed agent connected');

  // Ban it: its streams are ended (PermissionDenied) and it cannot reconnect or attest again.
  await handleCommand(log, agentDecider, { tenant, aggregateType: AGENT, aggregateId: agentId }, { kind: 'ban', reason: 'e2e' }, context());
  await eventually(async () => (await metric(keyed.healthUrl, 'tp_agent_signer_connected')) === 0, 10_000, 'banned agent disconnected');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(await metric(keyed.healthUrl, 'tp_agent_signer_connected'), 0, 'stays disconnected');
  assert.match(keyed.output(), /PERMISSION_DENIED/);
  await keyed.stop();
  const again = await startAgentProcess(
    { ...env, TP_AGENT_DATA_DIR: join(work, 'agent-ck-2') },
    { healthPort: port, socketPath: join(work, 'agent-ck.sock'), waitReady: false },
  );
  assert.equal(await exitCodeOf(again.process), 1, again.output());
  assert.match(again.output(), /banned/);
});

let svids: SvidStream;
let rotatingEntry: string;

test('an entry created after the agent started is pushed to the workload; openssl verifies the SVID; deletion removes it', async () => {
  svids = new SvidStream(agent.socketPath);
  const started = Date.now();
  const entryId = await createEntry('/e2e/payments', ['unix:uid:0']);
  await eventually(async () => svids.ids().includes(`spiffe://${TD}/e2e/payments`), 10_000, 'SVID pushed');
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5_000, `pushed in ${elapsed} ms`);
  rotatingEntry = await createEntry('/e2e/short', ['unix:uid:0'], { x509SvidTtlSeconds: 60 });
  await eventually(async () => svids.ids().length === 2, 10_000, 'second SVID');

  const svid = svids.latest()?.svids.find((s) => s.spiffeId.endsWith('/e2e/payments'));
  assert.ok(svid);
  const chain = splitDer(svid.x509Svid);
  const leaf = new X509Certificate(chain[0] ?? Buffer.alloc(0));
  assert.equal(leaf.subjectAltName, `URI:spiffe://${TD}/e2e/payments`);
  writeFileSync(join(work, 'svid.pem'), certificatesPem(chain.slice(0, 1)));
  writeFileSync(join(work, 'bundle.pem'), certificatesPem(splitDer(svid.bundle)));
  const verify = spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(work, 'bundle.pem'), join(work, 'svid.pem')], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);

  await deleteEntry(entryId);
  await eventually(async () => !svids.ids().includes(`spiffe://${TD}/e2e/payments`), 10_000, 'SVID withdrawn');
  assert.deepEqual(svids.ids(), [`spiffe://${TD}/e2e/short`]);
  assert.equal(svids.error, undefined);
});

test('tainting the CA makes the agent renew what it signed', async () => {
  const before = svids.latest()?.svids[0];
  assert.ok(before);
  const issuerBefore = new X509Certificate(splitDer(before.x509Svid)[0] ?? Buffer.alloc(0)).issuer;
  const serialBefore = new X509Certificate(splitDer(before.x509Svid)[0] ?? Buffer.alloc(0)).serialNumber;
  const list = await request<{ ok: boolean; keysets: { id: string; state: string }[] }>('keyset', { op: 'list', deploymentId });
  const active = list.keysets.find((k) => k.state === 'active');
  assert.ok(active);
  const tainted = await request<{ ok: boolean }>('keyset', { op: 'taint', deploymentId, keysetId: active.id });
  assert.equal(tainted.ok, true, JSON.stringify(tainted));
  await eventually(
    async () => {
      const now = svids.latest()?.svids[0];
      return now !== undefined && new X509Certificate(splitDer(now.x509Svid)[0] ?? Buffer.alloc(0)).serialNumber !== serialBefore;
    },
    15_000,
    'SVID renewed after the taint',
  );
  // The renewed SVID verifies with the new CA, which the bundle the workload gets carries.
  void issuerBefore;
  await eventually(
    async () => {
      const latest = svids.latest()?.svids[0];
      const renewed = new X509Certificate(splitDer(latest?.x509Svid ?? Buffer.alloc(0))[0] ?? Buffer.alloc(0));
      const bundle = splitDer(latest?.bundle ?? Buffer.alloc(0)).map((d) => new X509Certificate(d));
      return bundle.length === 2 && bundle.filter((ca) => renewed.verify(ca.publicKey)).length === 1;
    },
    15_000,
    'renewed SVID verifies with the new CA in the bundle',
  );
});

test('an SVID is rotated before it expires (entry TTL 60 s)', async () => {
  const first = svids.latest()?.svids.find((s) => s.spiffeId.endsWith('/e2e/short'));
  assert.ok(first);
  const leaf = new X509Certificate(splitDer(first.x509Svid)[0] ?? Buffer.alloc(0));
  const expires = new Date(leaf.validTo).getTime();
  await eventually(
    async () => {
      const now = svids.latest()?.svids.find((s) => s.spiffeId.endsWith('/e2e/short'));
      return now !== undefined && new X509Certificate(splitDer(now.x509Svid)[0] ?? Buffer.alloc(0)).serialNumber !== leaf.serialNumber;
    },
    60_000,
    'rotated',
  );
  assert.ok(Date.now() < expires, 'rotated before the old SVID expired');
  void rotatingEntry;
});

test('an agent restart keeps its identity (no new attestation)', async () => {
  svids.close();
  const agentId = agentIdFor(clusterId, nodeName);
  const eventsBefore = await agentEvents(agentId);
  assert.equal(await agent.stop(), 0, agent.output());
  agent = await startAgentProcess(agentEnv, { healthPort: agentHealthPort, socketPath: join(work, 'agent-1.sock') });
  await eventually(async () => (await metric(agent.healthUrl, 'tp_agent_signer_connected')) === 1, 10_000, 'reconnected');
  const eventsAfter = await agentEvents(agentId);
  assert.equal(eventsAfter.filter((t) => t === 'agent.attested').length, 1);
  assert.deepEqual(eventsAfter.slice(0, eventsBefore.length), eventsBefore);
  svids = new SvidStream(agent.socketPath);
  await eventually(async () => svids.ids().includes(`spiffe://${TD}/e2e/short`), 10_000, 'SVID served after restart');
});

test('signer down: the workload stream stays open, JWT requests fail fast with Unavailable, updates resume after restart', async () => {
  assert.equal(await signer.stop(), 0, signer.output());
  await eventually(async () => (await metric(agent.healthUrl, 'tp_agent_signer_connected')) === 0, 10_000, 'agent noticed');
  const jwt = await fetchJwt(agent.socketPath, 'e2e');
  assert.equal(jwt.error?.code, status.UNAVAILABLE, JSON.stringify(jwt));
  assert.ok(jwt.ms < 5_000, `failed after ${jwt.ms} ms`);
  assert.equal(svids.error, undefined, 'stream still open');
  assert.deepEqual(svids.ids(), [`spiffe://${TD}/e2e/short`]);

  // An entry created while the signer is down arrives once it is back.
  await createEntry('/e2e/late', ['unix:uid:0']);
  signer = await startServiceProcess('signer', signerEnv, signerPort);
  await eventually(async () => svids.ids().includes(`spiffe://${TD}/e2e/late`), 30_000, 'update after the signer restart');
  assert.equal(svids.error, undefined);
  const minted = await fetchJwt(agent.socketPath, 'e2e');
  assert.equal(minted.error, undefined, minted.error?.details);
  svids.close();
});

/** Runs the shared Python grpcio client (e2e/python/workload_client.py) as `uid`. */
function pythonClient(stubs: string, socketPath: string, uid: number): { status: number | null; report: Record<string, unknown>; stderr: string } {
  const out = mkdtempSync(join(tmpdir(), 'tpa-py-'));
  chmodSync(out, 0o777);
  const result = spawnSync('/usr/bin/python3', [join(repoRoot(), 'e2e/python/workload_client.py')], {
    encoding: 'utf8',
    uid,
    gid: uid,
    env: { PATH: '/usr/bin:/bin', STUBS: stubs, SOCKET: socketPath, WORK: out, TRUST_DOMAIN: TD },
    timeout: 60_000,
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '{}';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(line) as Record<string, unknown>;
  } catch {
    report = {};
  }
  if (result.status === 0) {
    const verify = spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(out, 'bundle.pem'), join(out, 'svid.pem')], { encoding: 'utf8' });
    report['openssl'] = verify.status === 0 ? 'OK' : `${verify.stdout}${verify.stderr}`;
  }
  return { status: result.status, report, stderr: result.stderr };
}

test('Python grpcio against the real agent: every RPC; uids get their own identities; an unregistered uid is denied', async () => {
  const stubs = mkdtempSync(join(tmpdir(), 'tpa-stubs-'));
  chmodSync(stubs, 0o755);
  const wellKnown = spawnSync('/usr/bin/python3', ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))'], { encoding: 'utf8' }).stdout.trim();
  const protoc = spawnSync(
    '/usr/bin/python3',
    ['-m', 'grpc_tools.protoc', `-I${join(repoRoot(), 'proto')}`, `-I${wellKnown}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, join(repoRoot(), 'proto/spiffe/workload/workload.proto')],
    { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } },
  );
  assert.equal(protoc.status, 0, protoc.stderr);
  spawnSync('chmod', ['-R', 'a+rX', stubs]);

  // Workloads of any uid must reach the socket; its directory here is a private temp dir.
  chmodSync(work, 0o755);
  await createEntry('/e2e/python-root', ['unix:uid:0']);
  await createEntry('/e2e/python-nobody', ['unix:uid:65534']);
  const stream = new SvidStream(agent.socketPath);
  await eventually(async () => stream.ids().includes(`spiffe://${TD}/e2e/python-root`), 20_000, 'root entry pushed');
  stream.close();

  const root = pythonClient(stubs, agent.socketPath, 0);
  assert.equal(root.status, 0, root.stderr);
  assert.equal(root.report['no_header_stream'], 'INVALID_ARGUMENT');
  assert.equal(root.report['no_header_unary'], 'INVALID_ARGUMENT');
  assert.equal(root.report['missing_audience'], 'INVALID_ARGUMENT');
  assert.match(String(root.report['spiffe_id']), new RegExp(`^spiffe://${TD.replace('.', '\\.')}/e2e/`));
  assert.equal((root.report['uri_sans'] as string[]).length, 1, 'exactly one URI SAN');
  assert.equal(root.report['key_matches_leaf'], true);
  assert.equal(root.report['openssl'], 'OK');
  assert.deepEqual(root.report['x509_bundles'], [`spiffe://${TD}`]);
  assert.equal(root.report['validated_id'], root.report['jwt_sub']);
  assert.equal(root.report['tampered'], 'INVALID_ARGUMENT');
  assert.equal(root.report['wrong_audience'], 'INVALID_ARGUMENT');
  assert.equal(root.report['wit_svid'], 'UNIMPLEMENTED', 'the incubating WIT-SVID profile is declined as the specification requires');
  assert.equal(root.report['wit_bundles'], 'UNIMPLEMENTED');
  // The Workload API's own counters are on the agent's /metrics.
  assert.ok((await metric(agent.healthUrl, 'tp_workload_api_calls_total{method="FetchJWTSVID",status="OK"}')) >= 1);
  assert.ok((await metric(agent.healthUrl, 'tp_workload_api_calls_total{method="FetchWITSVID",status="UNIMPLEMENTED"}')) >= 1);

  let nobody = pythonClient(stubs, agent.socketPath, 65534);
  for (let attempt = 0; attempt < 40 && nobody.status !== 0; attempt++) {
    await new Promise((r) => setTimeout(r, 500));
    nobody = pythonClient(stubs, agent.socketPath, 65534);
  }
  assert.equal(nobody.status, 0, nobody.stderr.slice(-2000));
  assert.equal(nobody.report['spiffe_id'], `spiffe://${TD}/e2e/python-nobody`, 'another uid gets its own identity, never root’s');
  assert.equal(nobody.report['openssl'], 'OK');

  const stranger = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      [
        'import os, sys, grpc',
        'sys.path.insert(0, os.environ["STUBS"])',
        'from spiffe.workload import workload_pb2 as pb, workload_pb2_grpc as g',
        's = g.SpiffeWorkloadAPIStub(grpc.insecure_channel("unix://" + os.environ["SOCKET"]))',
        'try:',
        '    next(s.FetchX509SVID(pb.X509SVIDRequest(), metadata=[("workload.spiffe.io", "true")]))',
        '    print("OK")',
        'except grpc.RpcError as e:',
        '    print(e.code().name)',
      ].join('\n'),
    ],
    { encoding: 'utf8', uid: 65533, gid: 65533, env: { PATH: '/usr/bin:/bin', STUBS: stubs, SOCKET: agent.socketPath }, timeout: 30_000 },
  );
  assert.equal(stranger.stdout.trim(), 'PERMISSION_DENIED', stranger.stderr);
});

test('no private key material in any event, database row or log line of the signer and the agent', async () => {
  // The actual keys: the signer's sealed CA/JWT keys, the agent's own key, every workload key served.
  const keys: KnownPrivateKey[] = [
    ...(await unsealDiskKeyStore(join(work, 'keys'), join(work, 'kek'))),
    { name: 'agent key', key: createPrivateKey(readFileSync(join(work, 'agent-1', 'agent-key.pem'), 'utf8')) },
    ...[...workloadKeys.values()].map((der, n) => ({ name: `workload key ${n}`, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) })),
  ];
  assert.ok(keys.length >= 5, `the scan knows the signer's, the agent's and the workloads' keys (${keys.length})`);
  const { found, events } = await scanForPrivateKeys({
    nc,
    streamName: stream.streamName,
    pool: db.pool,
    logs: { signer: signer.output(), agent: agent.output() },
    keys,
  });
  assert.deepEqual(found, []);
  assert.ok(events > 10, 'the scan covered this suite’s events');
});

// Registry and signer as separate processes on real NATS and Postgres, driven by tpctl: a
// new trust domain becomes available once its first CA is active; keysets are listed,
// prepared, activated and tainted through the real signer; the bundle follows; a signer
// restart with the disk KeyManager keeps the CA; a webhook bearer token given through the API
// is sealed by the signer and reaches the webhook, stored nowhere in plaintext.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventLog } from '@trustplane/eventstore';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  testServiceEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { freePort, startAgentProcess, startServiceProcess, tpctl, type CliResult, type RunningService } from '@trustplane/testkit';
import { Metadata, credentials } from '@grpc/grpc-js';
import { makeTestPki, spawnReferenceWebhook, type TestPki, type WebhookProcess } from '@trustplane/keymanager/dist/test-support/fixtures.js';
import { workload } from '@trustplane/proto';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let signer: RunningService;
let signerEnv: Record<string, string>;
let signerPort: number;
let agentApiPort: number;
let workDir: string;
let cliEnv: Record<string, string>;
let webhook: WebhookProcess;
let pki: TestPki;
const WEBHOOK_TOKEN = 'e2e-webhook-bearer-51c0de';
let orgId: string;

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_signer');
  stream = testStreamSettings('e2e_signer');
  const work = mkdtempSync(join(tmpdir(), 'tpe-'));
  workDir = work;
  const registryPort = await freePort();
  signerPort = await freePort();
  agentApiPort = await freePort();
  const common = testServiceEnv('registry', db, stream);
  // A Key Manager Extension webhook that only accepts WEBHOOK_TOKEN; the operator's policy
  // allows its URL and files under the work and PKI directories (both services apply it).
  pki = makeTestPki('tpe-pki-');
  const tokenFile = join(pki.dir, 'expected-token');
  writeFileSync(tokenFile, WEBHOOK_TOKEN, { mode: 0o600 });
  webhook = await spawnReferenceWebhook(pki, ['--token-file', tokenFile]);
  const policy = { roots: `${work},${pki.dir}`, urls: webhook.url };
  registry = await startServiceProcess(
    'registry',
    { ...common, TP_REGISTRY_PORT: String(registryPort), TP_REGISTRY_KM_PATH_ROOTS: policy.roots, TP_REGISTRY_KM_WEBHOOK_URLS: policy.urls },
    registryPort,
  );
  signerEnv = {
    ...common,
    TP_SIGNER_KM_PATH_ROOTS: policy.roots,
    TP_SIGNER_KM_WEBHOOK_URLS: policy.urls,
    TP_SIGNER_PORT: String(signerPort),
    TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
    TP_SIGNER_TICK_MS: '200',
    TP_SIGNER_AGENT_PORT: String(agentApiPort),
    TP_SIGNER_AGENT_HOST: '127.0.0.1',
  };
  signer = await startServiceProcess('signer', signerEnv, signerPort);
  cliEnv = { ...common, TPCTL_SERVER: registry.url };
});

after(async () => {
  assert.equal(await signer.stop(), 0, signer.output());
  assert.equal(await registry.stop(), 0, registry.output());
  await webhook.stop();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

async function ok(args: string[]): Promise<CliResult> {
  const result = await tpctl(args, cliEnv);
  assert.equal(result.code, 0, `tpctl ${args.join(' ')}\n${result.stdout}${result.stderr}`);
  return result;
}
async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok([...args, '--output', 'json'])).stdout) as T;
}
type Keyset = { id: string; state: string };

test('a trust domain becomes available when the signer activates its first CA; keysets through tpctl', async () => {
  const org = await json<{ id: string }>(['org', 'create', '--name', 'Signer Org']);
  orgId = org.id;
  const token = await json<{ token: string }>(['token', 'create', '--org', org.id, '--scopes', 'admin']);
  cliEnv['TPCTL_TOKEN'] = token.token;
  await eventually(async () => (await tpctl(['trust-domain', 'list'], cliEnv)).code === 0, 10_000, 'token accepted');

  await ok(['trust-domain', 'create', 'signed.example']);
  await eventually(
    async () => (await json<{ status: string }>(['trust-domain', 'info', 'signed.example'])).status === 'available',
    20_000,
    'trust domain available',
  );
  const info = await ok(['trust-domain', 'info', 'signed.example', '--show-deployments']);
  assert.match(info.stdout, /Status:\s+available/);
  const deployments = await json<{ id: string; name: string }[]>(['trust-domain', 'deployment', 'list', 'signed.example']);
  const deploymentId = deployments[0]?.id ?? '';

  const listed = await ok(['trust-domain', 'deployment', 'keyset', 'list', 'signed.example', deploymentId]);
  assert.match(listed.stdout, /^ID\s+State\s+Key type\s+Not before\s+Not after\s+JWT kid/m);
  assert.match(listed.stdout, /ks-\S+\s+active\s+ec-p256/);
  assert.match(listed.stdout, /1 keyset found\./);

  const prepared = await json<{ keyset: Keyset; keysets: Keyset[] }>(['trust-domain', 'deployment', 'keyset', 'prepare', 'signed.example', deploymentId]);
  assert.equal(prepared.keyset.state, 'prepared');
  const activated = await json<{ keysets: Keyset[] }>(['trust-domain', 'deployment', 'keyset', 'activate', 'signed.example', deploymentId, prepared.keyset.id]);
  assert.equal(activated.keysets.find((k) => k.id === prepared.keyset.id)?.state, 'active');
  assert.equal(activated.keysets.filter((k) => k.state === 'old').length, 1);

  const tainted = await json<{ keysets: Keyset[] }>(['trust-domain', 'deployment', 'keyset', 'taint', 'signed.example', deploymentId, prepared.keyset.id]);
  assert.equal(tainted.keysets.find((k) => k.id === prepared.keyset.id)?.state, 'tainted');
  const active = tainted.keysets.find((k) => k.state === 'active');
  assert.ok(active && active.id !== prepared.keyset.id, 'forced rotation to a new CA');

  const refused = await tpctl(['trust-domain', 'deployment', 'keyset', 'activate', 'signed.example', deploymentId, 'ks-missing'], cliEnv);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /CA_KEYSET_NOT_FOUND/);

  // A key-manager document is validated (the failing field named) and can be checked without storing.
  const docDir = mkdtempSync(join(workDir, 'doc-'));
  writeFileSync(join(docDir, 'bad.yaml'), 'section: key-manager\nschema: v1\nspec:\n  kind: webhook\n  webhookURL: http://insecure.example\n');
  const bad = await tpctl(['config', 'set', 'trust-domain-deployment', '--id', deploymentId, join(docDir, 'bad.yaml')], cliEnv);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /spec\.webhookURL/);
  writeFileSync(join(docDir, 'disk.yaml'), `section: key-manager\nschema: v1\nspec:\n  kind: disk\n  dir: ${join(docDir, 'keys')}\n  kekPath: ${join(docDir, 'kek')}\n  createKek: true\n`);
  const check = await ok(['config', 'set', 'trust-domain-deployment', '--id', deploymentId, join(docDir, 'disk.yaml'), '--validate-only']);
  assert.match(check.stdout, /valid/);

  // Restart the signer process: the disk KeyManager keeps the CA.
  assert.equal(await signer.stop(), 0);
  signer = await startServiceProcess('signer', signerEnv, signerPort);
  await new Promise((r) => setTimeout(r, 600));
  const afterRestart = await json<{ items?: Keyset[] } | Keyset[]>(['trust-domain', 'deployment', 'keyset', 'list', 'signed.example', deploymentId]);
  const items = Array.isArray(afterRestart) ? afterRestart : (afterRestart.items ?? []);
  assert.equal(items.find((k) => k.state === 'active')?.id, active.id, 'the same CA is active after the restart');
});

test('an agent joined with a tpctl join token gets an entry created with tpctl, and loses it when tpctl deletes it', async () => {
  const td = await json<{ id: string }>(['trust-domain', 'info', 'signed.example']);
  const cluster = await json<{ id: string; cluster_key?: { private_key: string } }>(['cluster', 'create', 'signed.example', 'edge', '--platform', 'linux']);
  assert.match(cluster.cluster_key?.private_key ?? '', /BEGIN PRIVATE KEY/, 'the cluster key is shown once at creation');
  const joinToken = await json<{ token: string }>(['cluster', 'join-token', 'create', '--cluster', cluster.id, '--trust-domain', 'signed.example', '--ttl', '600']);
  // The bundle the agent verifies the signer with on its first connection, as an operator gets it.
  const bundle = await ok(['trust-domain', 'bundle', 'signed.example']);
  assert.match(bundle.stdout, /^-----BEGIN CERTIFICATE-----\n/);
  const bundlePath = join(workDir, 'bundle.pem');
  writeFileSync(bundlePath, bundle.stdout);
  const parsed = spawnSync('openssl', ['x509', '-noout', '-ext', 'basicConstraints,keyUsage', '-in', bundlePath], { encoding: 'utf8' });
  assert.equal(parsed.status, 0, parsed.stderr);
  assert.match(parsed.stdout, /CA:TRUE/);
  assert.match(parsed.stdout, /Certificate Sign/);
  const document = await json<{ keys: { use: string; x5c?: string[]; kid?: string }[]; spiffe_sequence: number }>(['trust-domain', 'bundle', 'signed.example']);
  assert.ok(document.keys.some((k) => k.use === 'x509-svid' && k.x5c?.length === 1));
  assert.ok(document.keys.some((k) => k.use === 'jwt-svid' && typeof k.kid === 'string'));
  assert.ok(document.spiffe_sequence >= 1);
  // Another organization cannot read it: 404, as if the trust domain did not exist.
  const other = await json<{ id: string }>(['org', 'create', '--name', 'Other Org']);
  const otherToken = await json<{ token: string }>(['token', 'create', '--org', other.id, '--scopes', 'admin']);
  const otherEnv = { ...cliEnv, TPCTL_TOKEN: otherToken.token };
  await eventually(async () => (await tpctl(['trust-domain', 'list'], otherEnv)).code === 0, 10_000, 'other token accepted');
  const foreign = await tpctl(['trust-domain', 'bundle', td.id], otherEnv);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /404|not found/i);
  assert.doesNotMatch(foreign.stdout, /BEGIN CERTIFICATE/);
  const socketPath = join(workDir, 'agent.sock');
  const agent = await startAgentProcess(
    {
      TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentApiPort}`,
      TP_AGENT_TRUST_DOMAIN_ID: td.id,
      TP_AGENT_TRUST_DOMAIN: 'signed.example',
      TP_AGENT_CLUSTER_ID: cluster.id,
      TP_AGENT_NODE_NAME: 'node-1',
      TP_AGENT_JOIN_TOKEN: joinToken.token,
      TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
      TP_AGENT_DATA_DIR: join(workDir, 'agent'),
      TP_LOG_LEVEL: 'warn',
    },
    { healthPort: await freePort(), socketPath },
  );
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure());
  try {
    const agents = await ok(['agent', 'list', 'signed.example']);
    assert.match(agents.stdout, /spiffe:\/\/signed\.example\/agent\/edge\/node-1/);
    const entry = await json<{ id: string }>([
      'entry', 'create', 'signed.example', '--spiffe-id', 'spiffe://signed.example/payments',
      '--parent-id', 'spiffe://signed.example/agent/edge/node-1', '--selector', 'unix:uid:0',
    ]);
    const ids: string[][] = [];
    const md = new Metadata();
    md.set('workload.spiffe.io', 'true');
    const call = client.fetchX509Svid({}, md);
    call.on('data', (message: workload.X509SVIDResponse) => ids.push(message.svids.map((svid) => svid.spiffeId)));
    call.on('error', (error: { code?: number }) => ids.push([`error ${error.code}`]));
    await eventually(async () => (ids.at(-1) ?? []).includes('spiffe://signed.example/payments'), 15_000, 'SVID pushed to the stream');
    await ok(['entry', 'delete', entry.id]);
    await eventually(async () => !(ids.at(-1) ?? []).includes('spiffe://signed.example/payments'), 15_000, 'SVID removed from the stream');
    call.cancel();
  } finally {
    client.close();
    await agent.stop();
  }
});

test('a webhook bearer token given through the API is sealed by the signer, reaches the webhook, and is stored nowhere in plaintext', async () => {
  await ok(['trust-domain', 'create', 'sealed.example']);
  await eventually(async () => (await json<{ status: string }>(['trust-domain', 'info', 'sealed.example'])).status === 'available', 20_000, 'trust domain available');
  const [deployment] = await json<{ id: string }[]>(['trust-domain', 'deployment', 'list', 'sealed.example']);
  assert.ok(deployment);
  const before = await json<Keyset[] | { items?: Keyset[] }>(['trust-domain', 'deployment', 'keyset', 'list', 'sealed.example', deployment.id]);
  const diskKeyset = (Array.isArray(before) ? before : (before.items ?? [])).find((k) => k.state === 'active')?.id;
  const docDir = mkdtempSync(join(workDir, 'sealed-'));
  const document = join(docDir, 'webhook.yaml');
  writeFileSync(
    document,
    `section: key-manager\nschema: v1\nspec:\n  kind: webhook\n  webhookURL: ${webhook.url}\n  authType: bearer\n  token: ${WEBHOOK_TOKEN}\n  caCertPath: ${pki.caCertPath}\n`,
  );
  const stored = await json<{ spec: Record<string, unknown> }>(['config', 'set', 'trust-domain-deployment', '--id', deployment.id, document]);
  assert.match(String(stored.spec['tokenRef']), /^sec-[0-9a-f]{20}$/);
  assert.equal(stored.spec['token'], undefined);

  // The signer opens the sealed token and moves the deployment onto the webhook, which only
  // signs for a client presenting it.
  await eventually(
    async () => {
      const listed = await json<Keyset[] | { items?: Keyset[] }>(['trust-domain', 'deployment', 'keyset', 'list', 'sealed.example', deployment.id]);
      const active = (Array.isArray(listed) ? listed : (listed.items ?? [])).find((k) => k.state === 'active')?.id;
      return active !== undefined && active !== diskKeyset;
    },
    20_000,
    'a keyset made by the webhook',
  );
  assert.ok(webhook.lines.some((l) => l['event'] === 'sign'), 'the webhook signed');

  // Nowhere in plaintext: not in the log, not in a row of either service.
  const log = await EventLog.open(nc, stream);
  const events = await log.readAggregate({ tenant: orgId, aggregateType: 'configsection', aggregateId: `${deployment.id}_key-manager` });
  assert.ok(events.length > 0 && !JSON.stringify(events).includes(WEBHOOK_TOKEN));
  const tables = await db.pool.query<{ table_schema: string; table_name: string }>("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('registry', 'signer')");
  for (const { table_schema, table_name } of tables.rows) {
    const rows = await db.pool.query(`SELECT * FROM "${table_schema}"."${table_name}"`);
    assert.ok(!JSON.stringify(rows.rows).includes(WEBHOOK_TOKEN), `${table_schema}.${table_name} holds the token`);
  }
  assert.ok(!registry.output().includes(WEBHOOK_TOKEN) && !signer.output().includes(WEBHOOK_TOKEN), 'nor in a log line');
});

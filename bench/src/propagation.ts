// npm run bench -- propagation
// Time from POST of a registration entry to a workload's FetchX509SVID stream holding the new
// SVID, over 200 entries, with the registry, the signer and an agent as separate processes on
// NATS JetStream and PostgreSQL. Baseline measured in the same run: the POST round trip alone
// (command appended and projected), i.e. what any API-driven system pays before propagation.
import { mkdtempSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';
import { bundleX509AuthoritiesPem } from '@trustplane/spiffe';
import { bootstrapOrganization, bootstrapToken } from '@trustplane/registry';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startAgentProcess,
  startServiceProcess,
  testServiceEnv,
  testStreamSettings,
} from '@trustplane/testkit';
import { percentile, report, round } from './stats.js';

const ENTRIES = Number(process.env['TP_BENCH_ENTRIES'] ?? 200);

async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function main(): Promise<void> {
  const nc = await connectTestNats();
  const db = await createTestDatabase('bench_propagation');
  const stream = testStreamSettings('bench_prop');
  const work = mkdtempSync(join(tmpdir(), 'tp-prop-'));
  chmodSync(work, 0o755);
  const [registryPort, signerPort, agentPort, healthPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const common = testServiceEnv('registry', db, stream);
  const registry = await startServiceProcess('registry', { ...common, TP_REGISTRY_PORT: String(registryPort) }, registryPort);
  const signer = await startServiceProcess(
    'signer',
    {
      ...common,
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_AGENT_PORT: String(agentPort),
      TP_SIGNER_AGENT_HOST: '127.0.0.1',
      TP_SIGNER_CUSTODY_DIR: join(work, 'c'),
      TP_SIGNER_KEY_DIR: join(work, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'kek'),
    },
    signerPort,
  );
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    const org = await bootstrapOrganization(common, 'Bench');
    const { token } = await bootstrapToken(common, { organizationId: org.id, name: 'bench', scopes: ['admin'] });
    await eventually(async () => (await api(registry.url, token, 'GET', '/api/v1/organization')).status === 200, 30_000, 'token');
    const td = (await api(registry.url, token, 'POST', '/api/v1/trust-domains', { name: 'prop.example' })).json;
    await eventually(async () => (await api(registry.url, token, 'GET', '/api/v1/trust-domains/prop.example')).json['status'] === 'available', 30_000, 'CA');
    const cluster = (await api(registry.url, token, 'POST', '/api/v1/trust-domains/prop.example/clusters', { name: 'bench', platform: 'linux' })).json;
    const joinToken = (await api(registry.url, token, 'POST', `/api/v1/trust-domains/prop.example/clusters/${String(cluster['id'])}/join-tokens`, {})).json;
    const bundle = (await api(registry.url, token, 'GET', '/api/v1/trust-domains/prop.example/bundle')).json;
    const bundlePath = join(work, 'bundle.pem');
    writeFileSync(bundlePath, bundleX509AuthoritiesPem(bundle));
    const socketPath = join(work, 'agent.sock');
    agent = await startAgentProcess(
      {
        TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentPort}`,
        TP_AGENT_TRUST_DOMAIN_ID: String(td['id']),
        TP_AGENT_TRUST_DOMAIN: 'prop.example',
        TP_AGENT_CLUSTER_ID: String(cluster['id']),
        TP_AGENT_NODE_NAME: 'node-1',
        TP_AGENT_JOIN_TOKEN: String(joinToken['token']),
        TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
        TP_AGENT_DATA_DIR: join(work, 'agent'),
        TP_LOG_LEVEL: 'warn',
      },
      { healthPort, socketPath },
    );

    // The workload: one FetchX509SVID stream, tracking which SPIFFE IDs it holds and since when.
    const seen = new Map<string, number>();
    const client = new workload.SpiffeWorkloadAPIClient(`unix://${socketPath}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    const md = new Metadata();
    md.set('workload.spiffe.io', 'true');
    const call = client.fetchX509Svid({}, md);
    call.on('data', (message: workload.X509SVIDResponse) => {
      const now = performance.now();
      for (const svid of message.svids) if (!seen.has(svid.spiffeId)) seen.set(svid.spiffeId, now);
    });
    call.on('error', () => undefined);
    const entry = (i: number) => ({
      spiffeId: `spiffe://prop.example/workload-${i}`,
      parentId: 'spiffe://prop.example/agent/bench/node-1',
      selectors: ['unix:uid:0'],
    });
    // Warm-up: the first entry also opens the stream's first message.
    await api(registry.url, token, 'POST', '/api/v1/trust-domains/prop.example/entries', entry(-1));
    await eventually(() => seen.has('spiffe://prop.example/workload--1'), 30_000, 'first SVID');

    const propagation: number[] = [];
    const post: number[] = [];
    for (let i = 0; i < ENTRIES; i++) {
      const started = performance.now();
      const created = await api(registry.url, token, 'POST', '/api/v1/trust-domains/prop.example/entries', entry(i));
      if (created.status !== 201) throw new Error(`entry ${i}: ${created.status} ${JSON.stringify(created.json)}`);
      post.push(performance.now() - started);
      const id = `spiffe://prop.example/workload-${i}`;
      await eventually(() => seen.has(id), 10_000, id);
      propagation.push((seen.get(id) ?? 0) - started);
    }
    call.cancel();
    client.close();
    const p50 = percentile(propagation, 50);
    const p99 = percentile(propagation, 99);
    const postP99 = percentile(post, 99);
    report('entries', ENTRIES);
    report('POST /entries round trip p50 (baseline)', round(percentile(post, 50), 1), 'ms');
    report('POST /entries round trip p99 (baseline)', round(postP99, 1), 'ms');
    report('entry created → workload holds its SVID p50', round(p50, 1), 'ms');
    report('entry created → workload holds its SVID p99 (target ≤ 1000)', round(p99, 1), 'ms');
    report('propagation p99 / POST p99', round(p99 / postP99, 2), '×');
    process.stdout.write(
      `${JSON.stringify({ bench: 'propagation', entries: ENTRIES, p50_ms: round(p50, 1), p99_ms: round(p99, 1), max_ms: round(Math.max(...propagation), 1), baseline_post_p50_ms: round(percentile(post, 50), 1), baseline_post_p99_ms: round(postP99, 1), ratio_p99: round(p99 / postP99, 2) })}\n`,
    );
  } finally {
    await agent?.stop();
    await signer.stop();
    await registry.stop();
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

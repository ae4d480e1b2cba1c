// The real control plane for the benches: the registry and the signer as their own processes on
// NATS JetStream and PostgreSQL, an organization with an admin token, one trust domain whose CA
// is available, and node agents (services/agent/dist/main.js) attested with join tokens.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
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
  type RunningAgent,
  type RunningService,
  type TestDatabase,
} from '@trustplane/testkit';
import { mapConcurrent } from './stats.js';

/** How long a service may take to become ready: generous, the benches also run on loaded machines. */
const BOOT_TIMEOUT_MS = 120_000;

/** An HTTP answer of the registry's REST API. */
export interface ApiAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** A running control plane with one trust domain. */
export interface ControlPlane {
  readonly trustDomain: string;
  readonly trustDomainId: string;
  readonly registry: RunningService;
  readonly signer: RunningService;
  readonly signerAgentAddress: string;
  readonly bundlePath: string;
  /** A directory every uid can traverse (sockets of agents live under it). */
  readonly work: string;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  createCluster(name: string): Promise<string>;
  joinToken(clusterId: string): Promise<string>;
  /** POSTs entries with `concurrency` requests in flight; throws on any non-201. */
  createEntries(entries: readonly Record<string, unknown>[], concurrency: number): Promise<void>;
  /** The environment an agent of `clusterId` named `node` attests with (a fresh join token). */
  agentEnv(clusterId: string, node: string): Promise<{ env: Record<string, string>; socketPath: string }>;
  startAgent(clusterId: string, node: string, options?: { timeoutMs?: number }): Promise<RunningAgent>;
  stop(): Promise<void>;
}

export async function startControlPlane(label: string, trustDomain = `${label}.example`): Promise<ControlPlane> {
  const nc = await connectTestNats();
  const db = await createTestDatabase(`bench_${label}`);
  const stream = testStreamSettings(`bench_${label}`);
  const work = mkdtempSync(join(tmpdir(), `tp-bench-${label}-`));
  chmodSync(work, 0o755);
  const [registryPort, signerPort, agentPort] = [await freePort(), await freePort(), await freePort()];
  const common = testServiceEnv('registry', db, stream);
  const agents: RunningAgent[] = [];
  const services: RunningService[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const service of services.reverse()) await service.stop();
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
    await db.drop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const registry = await startServiceProcess('registry', { ...common, TP_REGISTRY_PORT: String(registryPort) }, registryPort, BOOT_TIMEOUT_MS);
    services.push(registry);
    const signer = await startServiceProcess(
      'signer',
      {
        ...common,
        TP_SIGNER_PORT: String(signerPort),
        TP_SIGNER_AGENT_PORT: String(agentPort),
        TP_SIGNER_AGENT_HOST: '127.0.0.1',
        TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
        TP_SIGNER_KEY_DIR: join(work, 'keys'),
        TP_SIGNER_KEK_PATH: join(work, 'kek'),
      },
      signerPort,
      BOOT_TIMEOUT_MS,
    );
    services.push(signer);
    const org = await bootstrapOrganization(common, `Bench ${label}`);
    const { token } = await bootstrapToken(common, { organizationId: org.id, name: 'bench', scopes: ['admin'] });
    const api = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
      const response = await fetch(`${registry.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    await eventually(async () => (await api('GET', '/api/v1/organization')).status === 200, BOOT_TIMEOUT_MS, 'token');
    const td = await api('POST', '/api/v1/trust-domains', { name: trustDomain });
    if (td.status !== 201) throw new Error(`trust domain: ${td.status} ${JSON.stringify(td.json)}`);
    await eventually(async () => (await api('GET', `/api/v1/trust-domains/${trustDomain}`)).json['status'] === 'available', BOOT_TIMEOUT_MS, 'CA available');
    // The bundle may lag the trust domain's status by a moment: wait for its first certificate.
    let bundlePem = '';
    await eventually(
      async () => {
        bundlePem = bundleX509AuthoritiesPem((await api('GET', `/api/v1/trust-domains/${trustDomain}/bundle`)).json);
        return bundlePem.includes('BEGIN CERTIFICATE');
      },
      BOOT_TIMEOUT_MS,
      'a certificate in the bundle',
    );
    const bundlePath = join(work, 'bundle.pem');
    writeFileSync(bundlePath, bundlePem);
    const trustDomainId = String(td.json['id']);
    const createCluster = async (name: string): Promise<string> => {
      const cluster = await api('POST', `/api/v1/trust-domains/${trustDomain}/clusters`, { name, platform: 'linux' });
      if (cluster.status !== 201) throw new Error(`cluster: ${cluster.status} ${JSON.stringify(cluster.json)}`);
      return String(cluster.json['id']);
    };
    const joinToken = async (clusterId: string): Promise<string> => {
      const answer = await api('POST', `/api/v1/trust-domains/${trustDomain}/clusters/${clusterId}/join-tokens`, {});
      if (answer.status !== 201) throw new Error(`join token: ${answer.status} ${JSON.stringify(answer.json)}`);
      return String(answer.json['token']);
    };
    const agentEnv = async (clusterId: string, node: string): Promise<{ env: Record<string, string>; socketPath: string }> => {
      const dir = join(work, 'agents', node);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      chmodSync(join(work, 'agents'), 0o755);
      chmodSync(dir, 0o755);
      const socketPath = join(dir, 'api.sock');
      return {
        socketPath,
        env: {
          TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentPort}`,
          TP_AGENT_TRUST_DOMAIN_ID: trustDomainId,
          TP_AGENT_TRUST_DOMAIN: trustDomain,
          TP_AGENT_CLUSTER_ID: clusterId,
          TP_AGENT_NODE_NAME: node,
          TP_AGENT_JOIN_TOKEN: await joinToken(clusterId),
          TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
          TP_AGENT_DATA_DIR: join(dir, 'data'),
          TP_LOG_LEVEL: 'warn',
        },
      };
    };
    return {
      trustDomain,
      trustDomainId,
      registry,
      signer,
      signerAgentAddress: `127.0.0.1:${agentPort}`,
      bundlePath,
      work,
      nc,
      db,
      api,
      createCluster,
      joinToken,
      agentEnv,
      async createEntries(entries, concurrency) {
        await mapConcurrent(entries, concurrency, async (entry, i) => {
          const created = await api('POST', `/api/v1/trust-domains/${trustDomain}/entries`, entry);
          if (created.status !== 201) throw new Error(`entry ${i}: ${created.status} ${JSON.stringify(created.json)}`);
        });
      },
      async startAgent(clusterId, node, options = {}) {
        const { env, socketPath } = await agentEnv(clusterId, node);
        const agent = await startAgentProcess(env, { healthPort: await freePort(), socketPath, timeoutMs: options.timeoutMs ?? BOOT_TIMEOUT_MS });
        agents.push(agent);
        return agent;
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** The agent's SPIFFE ID for a node of a cluster. */
export function agentId(trustDomain: string, clusterName: string, node: string): string {
  return `spiffe://${trustDomain}/agent/${clusterName}/${node}`;
}

/** Resident set size of a process, MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

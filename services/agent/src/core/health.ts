/**
 * `/healthz`, `/readyz` and Prometheus `/metrics` of the agent on plain node:http (no web
 * framework: the agent must stay small).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { WorkloadApiStats } from '../workload/stats.js';
import type { AgentCore } from './agent-core.js';

/** A running health endpoint. */
export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the health and metrics endpoint. */
export async function startHealthServer(options: {
  host: string;
  port: number;
  core: AgentCore;
  workloadStats: WorkloadApiStats;
  /** Whether the Workload API socket is being served. */
  serving: () => boolean;
}): Promise<HealthServer> {
  const { core } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tp_agent_' });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('tp_agent_entries', 'registration entries held for this node', () => core.counts().entries);
  gauge('tp_agent_x509_svids', 'entries with a current X.509-SVID', () => core.counts().svids);
  gauge('tp_agent_signer_connected', '1 while the entry and bundle streams are open', () =>
    core.connected ? 1 : 0,
  );
  gauge('tp_agent_svids_signed', 'X.509-SVIDs signed since start', () => core.stats.svidsSigned);
  gauge(
    'tp_agent_sign_failures',
    'X.509-SVID signing failures since start',
    () => core.stats.signFailures,
  );
  gauge(
    'tp_agent_signer_reconnects',
    'signer stream reconnects since start',
    () => core.stats.reconnects,
  );
  gauge(
    'tp_agent_svid_renewals',
    'agent SVID renewals since start',
    () => core.stats.agentRenewals,
  );
  // tp_workload_api_*: streams by method, connections, dropped connections, calls by status.
  options.workloadStats.register(registry);

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const ready = core.ready && options.serving();
      const body = JSON.stringify({
        status: ready ? 'ok' : 'unavailable',
        checks: { identity: core.ready, workloadApi: options.serving(), signer: core.connected },
      });
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The agent's `/healthz`, `/readyz` and `/metrics`: the platform's health server
 * (@trustplane/platform, without NestJS: the agent must stay small) with the agent's gauges and
 * readiness (an identity held, the Workload API served).
 */
import { Gauge } from 'prom-client';
import {
  createMetricsRegistry,
  startHealthServer as startPlatformHealthServer,
  type HealthServer,
} from '@trustplane/platform/dist/light.js';
import type { WorkloadApiStats } from '../workload/stats.js';
import type { AgentCore } from './agent-core.js';

export type { HealthServer } from '@trustplane/platform/dist/light.js';

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
  const registry = createMetricsRegistry('agent');
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
  gauge('tp_agent_signer_connected', '1 while the entry and bundle streams are open', () => (core.connected ? 1 : 0));
  gauge('tp_agent_svids_signed', 'X.509-SVIDs signed since start', () => core.stats.svidsSigned);
  gauge('tp_agent_sign_failures', 'X.509-SVID signing failures since start', () => core.stats.signFailures);
  gauge('tp_agent_signer_reconnects', 'signer stream reconnects since start', () => core.reconnects);
  gauge('tp_agent_svid_renewals', 'agent SVID renewals since start', () => core.stats.agentRenewals);
  gauge(
    'tp_agent_state_load_failures',
    'persisted agent states that could not be read at start (the agent then refuses to attest over them)',
    () => core.stats.stateLoadFailures,
  );
  gauge(
    'tp_agent_bundle_updates_refused',
    'bundle updates from the signer that could not be read (the bundles held were kept)',
    () => core.stats.bundleUpdatesRefused,
  );
  gauge('tp_agent_state_write_failures', 'writes of the persisted agent state that failed', () => core.stats.stateWriteFailures);
  // tp_workload_api_*: streams by method, connections, dropped connections, calls by status.
  options.workloadStats.register(registry);

  return startPlatformHealthServer({
    host: options.host,
    port: options.port,
    registry,
    readiness: [
      {
        name: 'identity',
        check: async () => {
          if (core.refused !== undefined) throw core.refused;
          if (!core.ready) throw new Error('not attested yet');
        },
      },
      {
        name: 'workload_api',
        check: async () => {
          if (!options.serving()) throw new Error('the Workload API socket is not served yet');
        },
      },
    ],
  });
}

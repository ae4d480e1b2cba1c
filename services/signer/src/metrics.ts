import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';

/** The signer's own Prometheus metrics, next to the shared service metrics. */
export interface SignerMetrics {
  /** CA key releases that failed (the key stays in the KeyManager until released by hand). */
  readonly keyReleaseFailures: Counter<'reason'>;
  /** Keysets that could not be prepared (keys created and released again). */
  readonly caBuildFailures: Counter;
  /** Rotation passes of one deployment that failed (then backed off). */
  readonly rotationFailures: Counter;
  /** 1 while this instance holds the rotation leader lock. */
  readonly rotationLeader: Gauge;
  /** Times the rotation leader lost its database session (and the lock with it). */
  readonly leaderSessionsLost: Counter;
  /** Signer requests refused before any work (missing or forged authority, scope, tenant). */
  readonly requestsRefused: Counter<'operation' | 'code'>;
  /** Tenant key-manager config sections the signer refused to apply (outside the operator's policy). */
  readonly keyManagerConfigsRefused: Counter;
  /** Attestations and renewals answered before the read model showed their event (it lagged past the wait). */
  readonly agentReadModelLate: Counter<'operation'>;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** Registers the signer's metrics, including the connection pool's usage (read at scrape time). */
export function createSignerMetrics(registry: Registry, pool: Pool): SignerMetrics {
  new Gauge({
    name: 'tp_signer_db_pool_connections',
    help: 'Database pool connections of the signer by state (total, idle, in_use, waiting clients)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  return {
    keyReleaseFailures: counter(registry, 'tp_signer_key_release_failures_total', 'CA key releases that failed', ['reason']),
    caBuildFailures: counter(registry, 'tp_signer_ca_build_failures_total', 'Keysets that could not be prepared'),
    rotationFailures: counter(registry, 'tp_signer_rotation_failures_total', 'Failed rotation passes of a deployment'),
    rotationLeader: new Gauge({ name: 'tp_signer_rotation_leader', help: '1 while this instance is the rotation leader', registers: [registry] }),
    leaderSessionsLost: counter(registry, 'tp_signer_rotation_leader_sessions_lost_total', 'Database sessions of the rotation leader that ended'),
    requestsRefused: counter(registry, 'tp_signer_requests_refused_total', 'Signer requests refused by the authority check', ['operation', 'code']),
    keyManagerConfigsRefused: counter(registry, 'tp_signer_key_manager_configs_refused_total', 'Key-manager config sections refused by the operator policy'),
    agentReadModelLate: counter(
      registry,
      'tp_signer_agent_read_model_late_total',
      'Agent attestations and renewals answered before the read model applied their event',
      ['operation'],
    ),
  };
}

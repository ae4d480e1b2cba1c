import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { quoteIdent } from '@trustplane/eventstore';
import { createPgPool, METRICS, withPooledClient, type ServiceMetrics } from '@trustplane/platform';
import type { Pool, PoolClient } from 'pg';
import { apiDatabaseUrlOf, type RegistryConfig } from './config.js';
import { REGISTRY_CONFIG } from './tokens.js';

/**
 * Read access to the registry's tables as the API role, one tenant per transaction:
 * row-level security shows only rows whose tenant_id equals `app.tenant`.
 */
@Injectable()
export class TenantDb implements OnApplicationShutdown {
  private readonly pool: Pool;
  /** The registry's schema, quoted for SQL. */
  readonly schema: string;

  constructor(@Inject(REGISTRY_CONFIG) config: RegistryConfig, @Inject(METRICS) metrics: ServiceMetrics) {
    this.pool = createPgPool(apiDatabaseUrlOf(config), 10);
    metrics.pools.set('api', this.pool);
    this.schema = quoteIdent(config.schema);
  }

  /** Runs `work` in a read-only transaction scoped to `tenant`. */
  async read<T>(tenant: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN READ ONLY', tenant, work);
  }

  /**
   * Runs `work` in a read-write transaction scoped to `tenant`. The API role may write only the
   * tables granted to it (the idempotency records); the read models are written by projections.
   */
  async write<T>(tenant: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', tenant, work);
  }

  private async transaction<T>(begin: string, tenant: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withPooledClient(this.pool, async (client) => {
      try {
        await client.query(begin);
        await client.query(`SELECT set_config('app.tenant', $1, true)`, [tenant]);
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Bounded: a client that never comes back must not hold the process after SIGTERM.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pool.end().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
    clearTimeout(timer);
  }
}

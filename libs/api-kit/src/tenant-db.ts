import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { quoteIdent } from '@trustplane/eventstore';
import { createPgPool, METRICS, withPooledClient, type ServiceMetrics } from '@trustplane/platform';
import type { Pool, PoolClient } from 'pg';
import { API_KIT_SETTINGS, type ApiKitSettings } from './settings.js';

/**
 * Access to a service's tables as the API role, one tenant per transaction:
 * row-level security shows only rows whose tenant_id equals `app.tenant`.
 */
@Injectable()
export class TenantDb implements OnApplicationShutdown {
  private readonly pool: Pool;
  /** The service's schema, quoted for SQL. */
  readonly schema: string;

  constructor(@Inject(API_KIT_SETTINGS) settings: ApiKitSettings, @Inject(METRICS) metrics: ServiceMetrics) {
    this.pool = createPgPool(settings.tenantDatabaseUrl, 10);
    metrics.pools.set('api', this.pool);
    this.schema = quoteIdent(settings.schema);
  }

  /** Runs `work` in a read-only transaction scoped to `tenant`. */
  async read<T>(tenant: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN READ ONLY', tenant, work);
  }

  /**
   * Runs `work` in a read-write transaction scoped to `tenant`. The API role may write only the
   * tables granted to it (e.g. the idempotency records); the read models are written by projections.
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

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { uuidv7 } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { CLOCK, LOGGER, PG_POOL, withPooledClient, type Clock } from '@trustplane/platform';
import { TRUST_DOMAIN, trustDomainDecider } from '@trustplane/registry-domain';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { CommandBus } from '../command-bus.js';
import type { RegistryConfig } from '../config.js';
import { REGISTRY_CONFIG } from '../tokens.js';
import { TrustDomainsService } from '../trust-domains/trust-domains.service.js';

/** Advisory lock key: one reconciler sweep at a time across registry replicas. */
const SWEEP_LOCK = 0x7470_7265; // "tpre"
/** Most items of each kind handled per sweep (the next sweep takes the rest). */
const SWEEP_LIMIT = 100;
/** Most entries of deleted trust domains deleted per sweep (they are invisible meanwhile). */
const ENTRY_SWEEP_LIMIT = 1000;

/** What one sweep did (for logs and tests). */
export interface SweepReport {
  /** Trust domain ids recorded as abandoned because their creation never completed. */
  readonly abandoned: readonly string[];
  /** Names released because their trust domain never appeared or is deleted. */
  readonly released: readonly string[];
  /** Managed trust domains whose missing deployment was created. */
  readonly completed: readonly string[];
  /** Managed deployments deleted after their trust domain. */
  readonly cleaned: readonly string[];
  /** Entries deleted after their trust domain. */
  readonly removedEntries: readonly string[];
  /** Idempotency records past their retention, deleted. */
  readonly expiredIdempotencyKeys: number;
}

/**
 * The process manager of the registry's multi-step writes. A trust domain is created in three
 * appends (name reserved → trust domain created → managed deployment created) and deleted in
 * in three or more (trust domain deleted → managed deployment deleted → each of its entries
 * deleted → name released); the request that
 * starts them may die between any two. This reconciler, driven by the log's read models and not
 * by any request, finishes or undoes what was left half-done once it is older than
 * TP_REGISTRY_RECONCILE_GRACE_MS:
 *
 * - a reservation whose trust domain never appeared: the trust domain id is closed (`abandon`,
 *   so a late create of it is refused), then the name is released;
 * - a reservation whose trust domain is deleted: the name is released;
 * - a managed trust domain without its deployment: the deployment is created (its id derives
 *   from the trust domain's, so a concurrent retry creates the same one);
 * - a managed deployment whose trust domain is deleted: the deployment is deleted;
 * - an entry whose trust domain is deleted: the entry is deleted (at once, no grace: the API and
 *   the signer stopped showing it when the trust domain went, and a request still deleting it is
 *   only a no-op for one of the two). This also catches an entry created while its trust domain
 *   was being deleted.
 *
 * Every step is a command decided against the log (the authority), so a stale read model or two
 * replicas sweeping at once can only cause no-ops. It also purges expired idempotency records.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly commands: CommandBus,
    private readonly trustDomains: TrustDomainsService,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.sweep()
        .then((report) => {
          const { expiredIdempotencyKeys, ...work } = report;
          if (Object.values(work).some((ids) => ids.length > 0)) this.logger.info({ reconciled: report }, 'reconciler finished half-done writes');
          else if (expiredIdempotencyKeys > 0) this.logger.debug({ expiredIdempotencyKeys }, 'expired idempotency records deleted');
        })
        .catch((error: unknown) => this.logger.warn({ err: error }, 'reconciler sweep failed; retrying at the next interval'))
        .finally(() => (this.running = undefined));
    }, this.config.reconcileIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // A pass cut short is finished by the next one (its work is idempotent); SIGTERM must not wait
    // for it without bound.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
    clearTimeout(timer);
  }

  /** One pass over half-done work, under a cluster-wide advisory lock (skipped when another replica holds it). */
  async sweep(): Promise<SweepReport> {
    return withPooledClient(this.pool, async (client) => {
      try {
        await client.query('BEGIN');
        const locked = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [SWEEP_LOCK]);
        const report = locked.rows[0]?.locked === true ? await this.reconcile(client) : emptyReport();
        await client.query('COMMIT');
        return report;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  private async reconcile(client: PoolClient): Promise<SweepReport> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.config.reconcileGraceMs);
    const s = `"${this.config.schema}"`;
    const abandoned: string[] = [];
    const released: string[] = [];
    const completed: string[] = [];
    const cleaned: string[] = [];

    const orphans = await client.query<{ tenant_id: string; name: string; trust_domain_id: string }>(
      `SELECT r.tenant_id, r.name, r.trust_domain_id FROM ${s}.trust_domain_names r
        WHERE r.reserved_at < $1 AND NOT EXISTS (SELECT 1 FROM ${s}.trust_domains t WHERE t.id = r.trust_domain_id)
        ORDER BY r.reserved_at LIMIT ${SWEEP_LIMIT}`,
      [cutoff],
    );
    for (const orphan of orphans.rows) {
      const ref = { tenant: orphan.tenant_id, aggregateType: TRUST_DOMAIN, aggregateId: orphan.trust_domain_id };
      const closed = await this.commands.run(trustDomainDecider, ref, { kind: 'abandon', name: orphan.name }, this.context(now));
      if (closed.events.length > 0) abandoned.push(orphan.trust_domain_id);
      // Live in the log but not yet in the read model: not an orphan after all.
      if (closed.state.phase !== 'deleted') continue;
      await this.trustDomains.releaseName(orphan.tenant_id, orphan.name, orphan.trust_domain_id, this.context(now));
      released.push(orphan.name);
    }

    const withoutDeployment = await client.query<{ tenant_id: string; id: string }>(
      `SELECT t.tenant_id, t.id FROM ${s}.trust_domains t
        WHERE t.kind = 'managed' AND t.created_at < $1 AND NOT EXISTS (SELECT 1 FROM ${s}.deployments d WHERE d.trust_domain_id = t.id)
        ORDER BY t.id LIMIT ${SWEEP_LIMIT}`,
      [cutoff],
    );
    for (const td of withoutDeployment.rows) {
      await this.trustDomains.ensureManagedDeployment(td.tenant_id, td.id, this.context(now));
      completed.push(td.id);
    }

    const leftBehind = await client.query<{ tenant_id: string; id: string; trust_domain_id: string }>(
      `SELECT d.tenant_id, d.id, d.trust_domain_id FROM ${s}.deployments d
        WHERE d.managed AND d.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM ${s}.trust_domains t WHERE t.id = d.trust_domain_id)
        ORDER BY d.id LIMIT ${SWEEP_LIMIT}`,
      [cutoff],
    );
    for (const deployment of leftBehind.rows) {
      const td = await this.commands.state(trustDomainDecider, { tenant: deployment.tenant_id, aggregateType: TRUST_DOMAIN, aggregateId: deployment.trust_domain_id });
      if (td.phase !== 'deleted') continue;
      await this.trustDomains.deleteManagedDeployment(deployment.tenant_id, deployment.id, this.context(now));
      cleaned.push(deployment.id);
    }

    const removedEntries = await this.removeOrphanEntries(client, s, now);
    const expired = await client.query(`DELETE FROM ${s}.idempotency_keys WHERE expires_at <= $1`, [now]);
    return { abandoned, released, completed, cleaned, removedEntries, expiredIdempotencyKeys: expired.rowCount ?? 0 };
  }

  /** Deletes entries whose trust domain is deleted (checked in the log, not only the read model). */
  private async removeOrphanEntries(client: PoolClient, s: string, now: Date): Promise<string[]> {
    const orphans = await client.query<{ tenant_id: string; id: string; trust_domain_id: string }>(
      `SELECT e.tenant_id, e.id, e.trust_domain_id FROM ${s}.entries e
        WHERE NOT EXISTS (SELECT 1 FROM ${s}.trust_domains t WHERE t.id = e.trust_domain_id)
        ORDER BY e.trust_domain_id, e.id LIMIT ${ENTRY_SWEEP_LIMIT}`,
    );
    const byTrustDomain = new Map<string, { tenant: string; entryIds: string[] }>();
    for (const orphan of orphans.rows) {
      const group = byTrustDomain.get(orphan.trust_domain_id) ?? { tenant: orphan.tenant_id, entryIds: [] };
      group.entryIds.push(orphan.id);
      byTrustDomain.set(orphan.trust_domain_id, group);
    }
    const removed: string[] = [];
    for (const [trustDomainId, { tenant, entryIds }] of byTrustDomain) {
      const td = await this.commands.state(trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId });
      if (td.phase !== 'deleted') continue;
      await this.trustDomains.removeEntries(tenant, entryIds, this.context(now));
      removed.push(...entryIds);
    }
    return removed;
  }

  private context(now: Date): CommandContext {
    const id = uuidv7();
    return { actor: { kind: 'system', id: 'registry-reconciler' }, correlationId: id, causationId: id, now };
  }
}

function emptyReport(): SweepReport {
  return { abandoned: [], released: [], completed: [], cleaned: [], removedEntries: [], expiredIdempotencyKeys: 0 };
}

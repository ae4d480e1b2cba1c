import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus, TenantDb } from '@trustplane/api-kit';
import { uuidv7 } from '@trustplane/events';
import { quoteIdent } from '@trustplane/eventstore';
import { LOGGER, PG_POOL, ProblemError } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { AUTH_CONFIG } from '../tokens.js';
import { AUDIT, auditAnchorDecider } from './anchor.js';
import { verifyChain, type ChainedRecord, type ChainVerdict } from './chain.js';

/** Filters of the audit list. */
export interface AuditQuery {
  readonly actor?: string;
  readonly resource?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly after?: number;
  readonly limit: number;
}

/** A record as the API shows it. */
export type AuditView = ChainedRecord & { readonly recordedAt: string };

/** A stored row as the chained record it was hashed as (nothing more, nothing less). */
const chained = (row: Record<string, unknown>): ChainedRecord => ({
  seq: Number(row['seq']),
  id: String(row['record_id']),
  service: String(row['service']),
  organizationId: String(row['tenant_id']),
  actor: { kind: row['actor_kind'] === 'deployment-key' ? 'deployment-key' : 'token', id: String(row['actor_id']) },
  action: String(row['action']),
  resource: String(row['resource']),
  outcome: row['outcome'] as ChainedRecord['outcome'],
  status: Number(row['status']),
  code: row['code'] === null ? null : String(row['code']),
  occurredAt: String(row['occurred_at']),
  prevHash: String(row['prev_hash']),
  hash: String(row['hash']),
});

const view = (row: Record<string, unknown>): AuditView => ({
  ...chained(row),
  recordedAt: row['recorded_at'] instanceof Date ? row['recorded_at'].toISOString() : String(row['recorded_at']),
});

/** Lists, verifies and anchors an organization's audit chain. */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: TenantDb,
    private readonly commands: CommandBus,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.auditAnchorIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.anchorAll().catch((error: unknown) => this.logger.warn({ err: error }, 'audit anchoring failed; retried at the next interval')), this.config.auditAnchorIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Records of the organization, oldest first, filtered. */
  async list(tenant: string, query: AuditQuery): Promise<{ items: AuditView[]; nextCursor: string | null }> {
    const where = ['seq > $1'];
    const params: unknown[] = [query.after ?? 0];
    if (query.actor !== undefined) where.push(`actor_id = $${params.push(query.actor)}`);
    if (query.resource !== undefined) where.push(`strpos(resource, $${params.push(query.resource)}) > 0`);
    if (query.since !== undefined) where.push(`occurred_at::timestamptz >= $${params.push(query.since)}`);
    if (query.until !== undefined) where.push(`occurred_at::timestamptz < $${params.push(query.until)}`);
    const rows = await this.db.read(tenant, (client) =>
      client.query(`SELECT * FROM ${this.db.schema}.audit_records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${query.limit + 1}`, params),
    );
    const items = rows.rows.slice(0, query.limit).map(view);
    return { items, nextCursor: rows.rows.length > query.limit ? String(items.at(-1)?.seq) : null };
  }

  /** Verifies the whole chain of the organization against its anchors in the event log. */
  async verify(tenant: string): Promise<ChainVerdict> {
    const rows = await this.db.read(tenant, (client) => client.query(`SELECT * FROM ${this.db.schema}.audit_records ORDER BY seq`));
    const anchors = (await this.commands.state(auditAnchorDecider, { tenant, aggregateType: AUDIT, aggregateId: tenant })).anchors;
    return verifyChain(rows.rows.map(chained), anchors);
  }

  /** Anchors the organization's head in the event log now (nothing when it is anchored already). */
  async anchor(tenant: string): Promise<{ seq: number; hash: string } | null> {
    const head = (await this.pool.query<{ seq: string; hash: string; anchored_seq: string }>(`SELECT seq, hash, anchored_seq FROM ${quoteIdent(this.config.schema)}.audit_heads WHERE tenant_id = $1`, [tenant])).rows[0];
    if (head === undefined || Number(head.seq) === 0) return null;
    const id = uuidv7();
    await this.commands.run(
      auditAnchorDecider,
      { tenant, aggregateType: AUDIT, aggregateId: tenant },
      { kind: 'anchor', organizationId: tenant, seq: Number(head.seq), hash: head.hash },
      { actor: { kind: 'service', id: 'auth' }, correlationId: id, causationId: id, now: new Date() },
    );
    await this.pool.query(`UPDATE ${quoteIdent(this.config.schema)}.audit_heads SET anchored_seq = GREATEST(anchored_seq, $2) WHERE tenant_id = $1`, [tenant, Number(head.seq)]);
    return { seq: Number(head.seq), hash: head.hash };
  }

  /** Anchors every organization whose head moved since its last anchor. */
  async anchorAll(): Promise<void> {
    if (this.config.auditAnchorIntervalMs <= 0) return;
    const moved = await this.pool.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${quoteIdent(this.config.schema)}.audit_heads WHERE seq > anchored_seq`);
    for (const { tenant_id } of moved.rows) await this.anchor(tenant_id);
  }

  /** Problem for a malformed query parameter. */
  static badQuery(name: string, message: string): ProblemError {
    return new ProblemError(400, 'QUERY_INVALID', `${name}: ${message}`);
  }
}

// Audit records: every command a REST service handles (who, what, when, outcome, including
// refusals) is published to the audit stream, from which services/auth builds the hash-linked
// chain of each organization (ARCHITECTURE invariant 4).
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { auditSubject } from '@trustplane/bus';
import { uuidv7 } from '@trustplane/events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';

/** Who sent a command: an API token, or a deployment key at the credential exchange. */
export interface AuditActor {
  readonly kind: 'token' | 'deployment-key';
  readonly id: string;
}

/** How a command ended: 2xx, 4xx (refused, with its problem code) or 5xx. */
export type AuditOutcome = 'succeeded' | 'refused' | 'failed';

/** One audit record as services publish it (the chain adds seq, prevHash and hash). */
export interface AuditRecord {
  /** UUIDv7; also the `Nats-Msg-Id`, so a re-sent record is stored once. */
  readonly id: string;
  /** The service that handled the command. */
  readonly service: string;
  /** The organization whose chain the record joins (`t-…`). */
  readonly organizationId: string;
  readonly actor: AuditActor;
  /** The command: method and route, e.g. `POST /api/v1/trust-domains/:td/deployments`. */
  readonly action: string;
  /** The resource addressed: the request path (ids or names as the caller gave them). */
  readonly resource: string;
  readonly outcome: AuditOutcome;
  /** The HTTP status answered. */
  readonly status: number;
  /** The problem code of a refusal or failure; null on success. */
  readonly code: string | null;
  /** When the command was answered (ISO-8601). */
  readonly occurredAt: string;
}

const ORGANIZATION = /^t-[0-9a-z]{10}$/;
const hasControl = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const TEXT = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max && !hasControl(value);

/** Checks a record read from the stream; undefined when it is not a well-formed record. */
export function parseAuditRecord(value: unknown): AuditRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const actor = r['actor'] as Record<string, unknown> | undefined;
  const ok =
    TEXT(r['id'], 64) &&
    TEXT(r['service'], 32) &&
    typeof r['organizationId'] === 'string' &&
    ORGANIZATION.test(r['organizationId']) &&
    typeof actor === 'object' &&
    actor !== null &&
    (actor['kind'] === 'token' || actor['kind'] === 'deployment-key') &&
    TEXT(actor['id'], 64) &&
    TEXT(r['action'], 300) &&
    TEXT(r['resource'], 2048) &&
    (r['outcome'] === 'succeeded' || r['outcome'] === 'refused' || r['outcome'] === 'failed') &&
    Number.isInteger(r['status']) &&
    (r['code'] === null || TEXT(r['code'], 100)) &&
    TEXT(r['occurredAt'], 40) &&
    !Number.isNaN(Date.parse(String(r['occurredAt'])));
  if (!ok) return undefined;
  return {
    id: String(r['id']),
    service: String(r['service']),
    organizationId: String(r['organizationId']),
    actor: { kind: actor['kind'] as AuditActor['kind'], id: String(actor['id']) },
    action: String(r['action']),
    resource: String(r['resource']),
    outcome: r['outcome'] as AuditOutcome,
    status: Number(r['status']),
    code: r['code'] === null ? null : String(r['code']),
    occurredAt: String(r['occurredAt']),
  };
}

/** The outcome class of an HTTP status. */
export function outcomeOf(status: number): AuditOutcome {
  return status < 400 ? 'succeeded' : status < 500 ? 'refused' : 'failed';
}

/**
 * Where records wait until the audit stream has stored them: a table in the publishing service's
 * own PostgreSQL, so a record survives the stream being down and the process dying.
 */
export interface AuditSpool {
  /** Stores a record durably (resolves once committed). */
  add(record: AuditRecord): Promise<void>;
  /**
   * The oldest waiting entries after `position`, in the order they were added; `record` is
   * undefined for a row that no longer reads as a record (left for an operator, never published).
   */
  oldest(after: number, limit: number): Promise<{ position: number; record: AuditRecord | undefined }[]>;
  /** Forgets a record the stream has stored. */
  remove(id: string): Promise<void>;
}

/** The spool table under a service's schema (created by that service's migration). */
export class PgAuditSpool implements AuditSpool {
  private readonly table: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.table = `"${schema.replace(/"/g, '""')}".audit_spool`;
  }

  async add(record: AuditRecord): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.table} (record_id, record) VALUES ($1, $2) ON CONFLICT (record_id) DO NOTHING`, [record.id, JSON.stringify(record)]);
  }

  async oldest(after: number, limit: number): Promise<{ position: number; record: AuditRecord | undefined }[]> {
    const rows = await this.pool.query<{ position: string; record: unknown }>(`SELECT position, record FROM ${this.table} WHERE position > $1 ORDER BY position LIMIT $2`, [after, limit]);
    return rows.rows.map((row) => ({ position: Number(row.position), record: parseAuditRecord(row.record) }));
  }

  async remove(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table} WHERE record_id = $1`, [id]);
  }
}

/** SQL creating the spool table `<schema>.audit_spool` (for a service's migration). */
export function auditSpoolDdl(schema: string): string {
  const s = `"${schema.replace(/"/g, '""')}"`;
  return `CREATE TABLE ${s}.audit_spool (
    position bigserial PRIMARY KEY,
    record_id text NOT NULL UNIQUE,
    record jsonb NOT NULL,
    spooled_at timestamptz NOT NULL DEFAULT now())`;
}

/**
 * Publishes audit records to `<prefix>.audit.<service>.<organization>` on JetStream, with
 * `Nats-Msg-Id` = record id (the stream stores a re-sent record once, and the chain skips a record
 * id it already holds).
 *
 * With a spool, `publish` resolves once the record is committed to the spool (the caller awaits it
 * before answering), and a background loop publishes the spool in order and removes each record
 * the stream acknowledged; it retries every second while the stream is unreachable and, started
 * again after a crash, publishes what the previous process left. A record published but not yet
 * removed when the process died is published again under the same id: stored once.
 *
 * Without a spool (or when the spool itself cannot be written), records wait in memory (at most
 * `maxPending`; beyond that the oldest are dropped and counted, and the log says so).
 */
export class AuditPublisher {
  private readonly js: JetStreamClient;
  private readonly pending: AuditRecord[] = [];
  private flushing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private failing = false;
  /** Records dropped because too many were pending. */
  dropped = 0;

  constructor(
    nc: NatsConnection,
    private readonly subjectPrefix: string,
    private readonly logger: Logger,
    private readonly maxPending = 10_000,
    private readonly spool?: AuditSpool,
  ) {
    this.js = jetstream(nc);
  }

  /** Keeps a record (durably, with a spool) and starts publishing what waits. */
  async publish(record: AuditRecord): Promise<void> {
    if (this.spool !== undefined) {
      try {
        await this.spool.add(record);
        void this.flush();
        return;
      } catch (error) {
        this.logger.error({ err: error, record: record.id }, 'audit record cannot be spooled; kept in memory only');
      }
    }
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.dropped++;
      if (this.dropped % 1000 === 1) this.logger.error({ dropped: this.dropped }, 'audit records dropped: the audit stream has been unavailable too long');
    }
    this.pending.push(record);
    void this.flush();
  }

  /**
   * Publishes what a previous process left in the spool, then sweeps it every `sweepMs` (rows
   * another replica spooled and did not get to publish; call once at start).
   */
  start(sweepMs = 5_000): void {
    void this.flush();
    this.sweeper = setInterval(() => void this.flush(), sweepMs);
    this.sweeper.unref();
  }

  /** Publishes every waiting record (one flush at a time; a flush asked for meanwhile runs after). */
  flush(): Promise<void> {
    if (this.flushing !== undefined) {
      this.again = true;
      return this.flushing;
    }
    this.again = false;
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      if (this.again && !this.closed && !this.failing) void this.flush();
    });
    return this.flushing;
  }

  private async send(record: AuditRecord): Promise<void> {
    await this.js.publish(auditSubject(this.subjectPrefix, record.service, record.organizationId), JSON.stringify(record), { msgID: record.id, timeout: 5_000 });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && this.pending.length > 0) {
        await this.send(this.pending[0] as AuditRecord);
        this.pending.shift();
      }
      let after = 0;
      while (!this.closed && this.spool !== undefined) {
        const batch = await this.spool.oldest(after, 100);
        if (batch.length === 0) break;
        for (const { position, record } of batch) {
          if (this.closed) return;
          after = position;
          if (record === undefined) {
            this.logger.error({ position }, 'an audit spool row is not a well-formed record (edited?); left in place, not published');
            continue;
          }
          await this.send(record);
          await this.spool.remove(record.id);
        }
      }
      if (this.failing) this.logger.info('audit records are stored again');
      this.failing = false;
    } catch (error) {
      // Once per outage at warn (the audit stream is created by the auth service), then quietly.
      if (!this.failing) this.logger.warn({ err: error, pending: this.pending.length }, 'audit records cannot be stored right now (is the auth service running?); retrying every second');
      this.failing = true;
      if (!this.closed)
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          void this.flush();
        }, 1_000);
    }
  }

  /** Publishes what is waiting (bounded wait), then stops retrying (the spool keeps the rest). */
  async close(waitMs = 2_000): Promise<void> {
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, waitMs))]);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
  }
}

const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Audits every command (POST, PUT, PATCH, DELETE) of an organization's principal — accepted,
 * refused (4xx, scope refusals included) or failed — as the answer is sent (the record is spooled first). Requests without a
 * known organization (no or a bad token) have no chain to join: they are counted by the HTTP
 * metrics only. `skip` leaves out routes another service audits (forwarded ones).
 */
export function registerAuditHook(
  app: NestFastifyApplication,
  options: { service: string; publisher: AuditPublisher; skip?: (routeUrl: string) => boolean },
): void {
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const route = request.routeOptions.url;
    const principal = request.principal;
    if (!COMMAND_METHODS.has(request.method) || route === undefined || options.skip?.(route) === true || principal === undefined) return payload;
    const status = reply.statusCode;
    let code: string | null = null;
    if (status >= 400) {
      code = `HTTP_${status}`;
      if (typeof payload === 'string' && payload.length < 64 * 1024) {
        try {
          const problem = (JSON.parse(payload) as { code?: unknown }).code;
          if (typeof problem === 'string') code = problem.slice(0, 100);
        } catch {
          // not JSON: no code
        }
      }
    }
    // Kept (spooled) before the answer goes out: a command answered is a command audited.
    await options.publisher.publish({
      id: uuidv7(),
      service: options.service,
      organizationId: principal.tenant,
      actor: { kind: 'token', id: principal.tokenId },
      action: `${request.method} ${route}`,
      resource: request.url.split('?')[0]?.slice(0, 2048) ?? '',
      outcome: outcomeOf(status),
      status,
      code,
      occurredAt: new Date().toISOString(),
    });
    return payload;
  });
}

// Audit records: every command a REST service handles (who, what, when, outcome, including
// refusals) is published to the audit stream, from which services/auth builds the hash-linked
// chain of each organization (ARCHITECTURE invariant 4).
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { auditSubject } from '@trustplane/bus';
import { uuidv7 } from '@trustplane/events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
 * Publishes audit records to `<prefix>.audit.<service>.<organization>` on JetStream. A record that
 * cannot be stored right now (the audit stream or NATS is unavailable) is kept in memory and
 * published again with the same id, in order, until it is stored (at most `maxPending`; beyond
 * that the oldest are dropped and counted, and the log says so).
 */
export class AuditPublisher {
  private readonly js: JetStreamClient;
  private readonly pending: AuditRecord[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failing = false;
  /** Records dropped because too many were pending. */
  dropped = 0;

  constructor(
    nc: NatsConnection,
    private readonly subjectPrefix: string,
    private readonly logger: Logger,
    private readonly maxPending = 10_000,
  ) {
    this.js = jetstream(nc);
  }

  /** Queues a record and publishes what is pending. */
  publish(record: AuditRecord): Promise<void> {
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.dropped++;
      if (this.dropped % 1000 === 1) this.logger.error({ dropped: this.dropped }, 'audit records dropped: the audit stream has been unavailable too long');
    }
    this.pending.push(record);
    return this.flush();
  }

  /** Publishes every pending record (one flush at a time). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.closed) {
      const record = this.pending[0] as AuditRecord;
      try {
        await this.js.publish(auditSubject(this.subjectPrefix, record.service, record.organizationId), JSON.stringify(record), { msgID: record.id, timeout: 5_000 });
        this.pending.shift();
        if (this.failing) this.logger.info('audit records are stored again');
        this.failing = false;
      } catch (error) {
        // Once per outage at warn (the audit stream is created by the auth service), then quietly.
        if (!this.failing) this.logger.warn({ err: error, pending: this.pending.length }, 'audit records cannot be stored right now (is the auth service running?); retrying every second');
        this.failing = true;
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          void this.flush();
        }, 1_000);
        return;
      }
    }
  }

  /** Publishes what is pending (bounded wait), then stops retrying. */
  async close(waitMs = 2_000): Promise<void> {
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, waitMs))]);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The problem code of an error answer (captured for the audit record). */
    auditCode?: string;
  }
}

const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Audits every command (POST, PUT, PATCH, DELETE) of an organization's principal — accepted,
 * refused (4xx, scope refusals included) or failed — once it is answered. Requests without a
 * known organization (no or a bad token) have no chain to join: they are counted by the HTTP
 * metrics only. `skip` leaves out routes another service audits (forwarded ones).
 */
export function registerAuditHook(
  app: NestFastifyApplication,
  options: { service: string; publisher: AuditPublisher; skip?: (routeUrl: string) => boolean },
): void {
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode >= 400 && typeof payload === 'string' && payload.length < 64 * 1024) {
      try {
        const code = (JSON.parse(payload) as { code?: unknown }).code;
        if (typeof code === 'string') request.auditCode = code.slice(0, 100);
      } catch {
        // not JSON: no code
      }
    }
    return payload;
  });
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (!COMMAND_METHODS.has(request.method) || route === undefined || options.skip?.(route) === true) return;
    const principal = request.principal;
    if (principal === undefined) return;
    const status = reply.statusCode;
    void options.publisher.publish({
      id: uuidv7(),
      service: options.service,
      organizationId: principal.tenant,
      actor: { kind: 'token', id: principal.tokenId },
      action: `${request.method} ${route}`,
      resource: request.url.split('?')[0]?.slice(0, 2048) ?? '',
      outcome: outcomeOf(status),
      status,
      code: status >= 400 ? (request.auditCode ?? `HTTP_${status}`) : null,
      occurredAt: new Date().toISOString(),
    });
  });
}

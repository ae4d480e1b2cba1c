import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AcceptedPending, CLOCK, LOGGER, ProblemError, RetryableProblemError, type Clock } from '@trustplane/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { requestFingerprint } from './request-context.js';
import { secretShownOnce, SHOWN_ONCE, withoutSecrets } from './shown-once.js';
import { TenantDb } from './tenant-db.js';
import { API_KIT_SETTINGS, type ApiKitSettings } from './settings.js';

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

/** A stored idempotency record, as the tenant's transaction sees it. */
interface IdempotencyRecord {
  readonly request_hash: string;
  readonly status: number | null;
  readonly response: unknown;
  readonly secret_withheld: boolean;
  readonly claimed_until: Date | null;
}

/** How a request ended, as far as its idempotency record is concerned. */
type Outcome =
  | { readonly kind: 'final'; readonly status: number; readonly response: unknown; readonly secretWithheld: boolean }
  | { readonly kind: 'release' };

/**
 * Honours `Idempotency-Key` on POST.
 *
 * - The first request with a key claims it (for the service's claim time (idempotencyClaimMs)) and runs; a
 *   concurrent repeat gets 409 IDEMPOTENCY_REQUEST_IN_PROGRESS with `Retry-After`. A claim whose
 *   request died (crash, lost connection) lapses, and the next repeat runs the request again.
 * - Running again is safe because the ids of the resources a keyed request creates derive from
 *   the key (see `newIdFor`): the repeat finds what the first run committed instead of creating
 *   a second resource.
 * - A successful response is kept for idempotencyRetentionSeconds (under row-level
 *   security, like every tenant table) and replayed with `Idempotent-Replayed: true`. Fields
 *   declared {@link ShownOnce} are never stored: a repeat of such a request gets 409
 *   SECRET_SHOWN_ONCE with the resource without its secret.
 * - The same key with another method, path or body is refused (422).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly table: string;

  constructor(
    private readonly db: TenantDb,
    private readonly reflector: Reflector,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_KIT_SETTINGS) private readonly config: ApiKitSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.table = `${db.schema}.idempotency_keys`;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || request.principal === undefined) return next.handle();
    return from(this.handle(context, request, request.principal.tenant, key, next));
  }

  private async handle(context: ExecutionContext, request: FastifyRequest, tenant: string, key: string | string[], next: CallHandler): Promise<unknown> {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new ProblemError(400, 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1–200 characters of A-Z a-z 0-9 _ . : -');
    }
    const secretFields = this.reflector.get<string[] | undefined>(SHOWN_ONCE, context.getHandler()) ?? [];
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const claimId = randomUUID();
    const claimed = await this.db.write(tenant, (client) => this.claim(client, tenant, key, fingerprint, claimId));
    if (!claimed) return this.replay(context, tenant, key, fingerprint);
    const outcome = await this.run(context, next, secretFields);
    // The request's outcome stands even if it cannot be recorded: its claim then lapses, and a
    // retry runs again and finds what this run committed.
    await this.db
      .write(tenant, (client) => this.record(client, tenant, key, claimId, outcome.result))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not record the outcome of an idempotent request'));
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value;
  }

  /** Runs the handler and says what to record: a final answer, or release the key for a retry. */
  private async run(
    context: ExecutionContext,
    next: CallHandler,
    secretFields: readonly string[],
  ): Promise<{ value?: unknown; error?: unknown; result: Outcome }> {
    try {
      const value = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      const status = reply.statusCode >= 200 && reply.statusCode < 300 ? reply.statusCode : 200;
      return { value, result: { kind: 'final', status, response: withoutSecrets(value ?? null, secretFields), secretWithheld: secretFields.length > 0 } };
    } catch (error) {
      // A committed write whose secret went out in the 202 answer is done: never hand it out again.
      if (error instanceof AcceptedPending && secretFields.some((field) => field in error.body)) {
        return { error, result: { kind: 'final', status: 202, response: withoutSecrets(error.body, secretFields), secretWithheld: true } };
      }
      return { error, result: { kind: 'release' } };
    }
  }

  /**
   * Claims the key: a new record, or one whose claim lapsed (same request) or whose retention
   * ended (forgotten). True when this request now holds it.
   */
  private async claim(client: PoolClient, tenant: string, key: string, fingerprint: string, claimId: string): Promise<boolean> {
    const now = this.clock.now();
    const result = await client.query(
      `INSERT INTO ${this.table} AS k (tenant_id, key, request_hash, claim_id, claimed_until, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, claim_id = EXCLUDED.claim_id, claimed_until = EXCLUDED.claimed_until,
             expires_at = EXCLUDED.expires_at, status = NULL, response = NULL, secret_withheld = false, created_at = $7
         WHERE k.expires_at <= $7 OR (k.status IS NULL AND k.claimed_until <= $7 AND k.request_hash = EXCLUDED.request_hash)
       RETURNING key`,
      [
        tenant,
        key,
        fingerprint,
        claimId,
        new Date(now.getTime() + this.config.idempotencyClaimMs),
        new Date(now.getTime() + this.config.idempotencyRetentionSeconds * 1000),
        now,
      ],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Answers a repeat of a request whose key is taken: its stored outcome, or why not. */
  private async replay(context: ExecutionContext, tenant: string, key: string, fingerprint: string): Promise<unknown> {
    const stored = await this.db.read(tenant, async (client) => {
      const rows = await client.query<IdempotencyRecord>(
        `SELECT request_hash, status, response, secret_withheld, claimed_until FROM ${this.table} WHERE tenant_id = $1 AND key = $2`,
        [tenant, key],
      );
      return rows.rows[0];
    });
    if (stored === undefined) throw new RetryableProblemError(409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 'retry the request', 1);
    if (stored.request_hash !== fingerprint) {
      throw new ProblemError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    }
    if (stored.status === null) {
      const waitMs = (stored.claimed_until?.getTime() ?? 0) - this.clock.now().getTime();
      throw new RetryableProblemError(409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 'a request with this Idempotency-Key is still running', Math.max(1, Math.ceil(waitMs / 1000)));
    }
    if (stored.secret_withheld) throw secretShownOnce(stored.response);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    void reply.header('idempotent-replayed', 'true');
    return stored.response;
  }

  /** Stores the final answer, or releases the claim so that a retry runs the request again. */
  private async record(client: PoolClient, tenant: string, key: string, claimId: string, outcome: Outcome): Promise<void> {
    if (outcome.kind === 'final') {
      await client.query(
        `UPDATE ${this.table} SET status = $4, response = $5, secret_withheld = $6, claimed_until = NULL
          WHERE tenant_id = $1 AND key = $2 AND claim_id = $3`,
        [tenant, key, claimId, outcome.status, JSON.stringify(outcome.response), outcome.secretWithheld],
      );
    } else {
      await client.query(`UPDATE ${this.table} SET claimed_until = $4 WHERE tenant_id = $1 AND key = $2 AND claim_id = $3 AND status IS NULL`, [
        tenant,
        key,
        claimId,
        this.clock.now(),
      ]);
    }
  }
}

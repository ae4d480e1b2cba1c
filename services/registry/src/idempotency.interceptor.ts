import { createHash } from 'node:crypto';
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { quoteIdent } from '@trustplane/eventstore';
import { PG_POOL, ProblemError } from '@trustplane/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { RegistryConfig } from './config.js';
import { REGISTRY_CONFIG } from './tokens.js';

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Fingerprint of a request: a reused key must come with the same method, path and body. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('hex');
}

/**
 * Honours `Idempotency-Key` on POST: the first request with a key runs and its successful
 * response is stored; a repeat with the same body gets the stored response (nothing is
 * appended again); a repeat with a different body is refused.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly table: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REGISTRY_CONFIG) config: RegistryConfig,
  ) {
    this.table = `${quoteIdent(config.schema)}.idempotency_keys`;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || request.principal === undefined) return next.handle();
    return from(this.handle(context, request, key, next));
  }

  private async handle(context: ExecutionContext, request: FastifyRequest, key: string | string[], next: CallHandler): Promise<unknown> {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new ProblemError(400, 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1–200 characters of A-Z a-z 0-9 _ . : -');
    }
    const tenant = request.principal?.tenant ?? '';
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const claimed = await this.pool.query(
      `INSERT INTO ${this.table} (tenant_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING key`,
      [tenant, key, fingerprint],
    );
    if (claimed.rowCount === 0) {
      const stored = await this.pool.query<{ request_hash: string; status: number | null; response: unknown }>(
        `SELECT request_hash, status, response FROM ${this.table} WHERE tenant_id = $1 AND key = $2`,
        [tenant, key],
      );
      const row = stored.rows[0];
      if (row === undefined) throw new ProblemError(409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 'retry the request');
      if (row.request_hash !== fingerprint) {
        throw new ProblemError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      }
      if (row.status === null) throw new ProblemError(409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS', 'a request with this Idempotency-Key is still running');
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      void reply.header('idempotent-replayed', 'true');
      return row.response;
    }
    try {
      const response = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      await this.pool.query(`UPDATE ${this.table} SET status = $3, response = $4 WHERE tenant_id = $1 AND key = $2`, [
        tenant,
        key,
        reply.statusCode >= 200 && reply.statusCode < 300 ? reply.statusCode : 200,
        JSON.stringify(response ?? null),
      ]);
      return response;
    } catch (error) {
      await this.pool.query(`DELETE FROM ${this.table} WHERE tenant_id = $1 AND key = $2`, [tenant, key]);
      throw error;
    }
  }
}

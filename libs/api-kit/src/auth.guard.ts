import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiScope } from '@trustplane/events';
import { quoteIdent } from '@trustplane/eventstore';
import { CLOCK, PG_POOL, ProblemError, PUBLIC_ROUTE, type Clock } from '@trustplane/platform';
import { parseToken, tokenSecretMatches } from '@trustplane/registry-domain';
import type { FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { API_KIT_SETTINGS, type ApiKitSettings } from './settings.js';
import { hasScope, type Principal } from './principal.js';

/** Metadata key of the scope a route requires. */
export const REQUIRED_SCOPE = 'trustplane:required-scope';
/** What a route requires: a scope, or just any valid token of the organization. */
export type RouteRequirement = ApiScope | 'authenticated';
/** Declares the scope a route requires. */
export const RequireScope = (scope: RouteRequirement): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPE, scope);

/**
 * Authenticates every request with an API token and checks the route's scope. Routes that
 * are neither public nor scoped are refused: forgetting a scope fails closed.
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_KIT_SETTINGS) private readonly settings: ApiKitSettings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = await this.authenticate(request.headers.authorization);
    // Known before the scope check, so that a refused command is audited under its organization.
    request.principal = principal;
    const scope = this.reflector.getAllAndOverride<RouteRequirement | undefined>(REQUIRED_SCOPE, targets);
    if (scope === undefined) throw new ProblemError(403, 'INSUFFICIENT_SCOPE', 'this route is not available to API tokens');
    if (scope !== 'authenticated' && !hasScope(principal, scope)) {
      throw new ProblemError(403, 'INSUFFICIENT_SCOPE', `this request needs the ${scope} scope`);
    }
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    const unauthenticated = new ProblemError(401, 'UNAUTHENTICATED', 'a valid API token is required (Authorization: Bearer <token>)');
    if (header === undefined || !header.startsWith('Bearer ')) throw unauthenticated;
    const parsed = parseToken(header.slice('Bearer '.length).trim());
    if (parsed === undefined) throw unauthenticated;
    // Token lookup precedes knowing the tenant, so it reads as the owner role, by primary key.
    const result = await this.pool.query<{ tenant_id: string; scopes: ApiScope[]; salt: string; hash: string; expires_at: Date | null; revoked: boolean }>(
      `SELECT tenant_id, scopes, salt, hash, expires_at, revoked FROM ${quoteIdent(this.settings.schema)}.api_tokens WHERE id = $1`,
      [parsed.tokenId],
    );
    const row = result.rows[0];
    if (row === undefined || row.revoked || !tokenSecretMatches(parsed.secret, row.salt, row.hash)) throw unauthenticated;
    if (row.expires_at !== null && row.expires_at.getTime() <= this.clock.now().getTime()) throw unauthenticated;
    return { tenant: row.tenant_id, tokenId: parsed.tokenId, scopes: row.scopes };
  }
}

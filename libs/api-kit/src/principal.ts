import type { ApiScope } from '@trustplane/events';
import { impliedScopes } from '@trustplane/registry-domain';

/** Who is calling: an API token of one organization with its scopes. */
export interface Principal {
  readonly tenant: string;
  readonly tokenId: string;
  readonly scopes: readonly ApiScope[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard on every authenticated request. */
    principal?: Principal;
  }
}

/** True when the principal's scopes grant `scope` (`admin` grants every scope). */
export function hasScope(principal: Principal, scope: ApiScope): boolean {
  return impliedScopes(principal.scopes).has(scope);
}

import type { ApiScope } from '@trustplane/events';

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

/** True when the principal holds `scope` (or `admin`). */
export function hasScope(principal: Principal, scope: ApiScope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

/** Injection token of {@link ApiKitSettings}: every service that uses the kit provides it. */
export const API_KIT_SETTINGS = Symbol('API_KIT_SETTINGS');

/** What the shared API adapters need to know about the service they run in. */
export interface ApiKitSettings {
  /** The service's Postgres schema (unquoted): its `api_tokens` and `idempotency_keys` live there. */
  readonly schema: string;
  /** Connection of the API role, subject to row-level security (see {@link TenantDb}). */
  readonly tenantDatabaseUrl: string;
  /** How long a request holds its Idempotency-Key before a retry may take it over. */
  readonly idempotencyClaimMs: number;
  /** How long the outcome of a keyed request is kept. */
  readonly idempotencyRetentionSeconds: number;
  /** How long a committed write waits for the read models before it is answered 202 Accepted. */
  readonly projectionWaitMs: number;
}

/** The API role's connection URL: `explicit`, or `databaseUrl` with `role` as user and no password. */
export function roleDatabaseUrl(databaseUrl: string, role: string, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
}

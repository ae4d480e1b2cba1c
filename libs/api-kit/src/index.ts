/**
 * @trustplane/api-kit: the NestJS adapters every REST service shares. API tokens (projected from
 * `apitoken.*` into the service's own schema) authenticate requests and carry scopes; tenant
 * reads and writes run under row-level security; POSTs honour Idempotency-Key without ever
 * storing a shown-once secret; commands get their metadata from the request.
 */
export { API_KIT_SETTINGS, roleDatabaseUrl, type ApiKitSettings } from './settings.js';
export { ApiTokenGuard, REQUIRED_SCOPE, RequireScope, type RouteRequirement } from './auth.guard.js';
export { hasScope, type Principal } from './principal.js';
export { TenantDb } from './tenant-db.js';
export { createApiRole, createIdempotencyTable, isolateTenantTable } from './tenant-isolation.js';
export { COMMAND_BUS_HOOKS, CommandBus, type CommandBusHooks, type PendingAnswer } from './command-bus.js';
export { IdempotencyInterceptor } from './idempotency.interceptor.js';
export { SHOWN_ONCE, ShownOnce, secretShownOnce, withoutSecrets } from './shown-once.js';
export {
  commandContextFor,
  idempotencySeedOf,
  newIdFor,
  principalOf,
  requestFingerprint,
  type WriteContext,
} from './request-context.js';
export {
  AuditPublisher,
  PgAuditSpool,
  auditSpoolDdl,
  outcomeOf,
  parseAuditRecord,
  registerAuditHook,
  type AuditActor,
  type AuditOutcome,
  type AuditRecord,
  type AuditSpool,
} from './audit.js';

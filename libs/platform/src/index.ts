// Config, redaction and readiness (also importable alone, without NestJS, from ./light.js).
export * from './light.js';
export { createLogger, NestPinoLogger } from './logger.js';
export { createServiceMetrics, metricsObserver, type ServiceMetrics } from './metrics.js';
export { initTracing, formatTraceparent, startServerSpan, type Tracing } from './tracing.js';
export {
  ANONYMOUS_BUS_WARNING,
  bindMigration,
  connectNats,
  createPgPool,
  eventStreamSettings,
  natsAcceptsAnonymous,
  NatsSecurityError,
  openNatsSession,
  migrationsCurrent,
  runMigrations,
  withPooledClient,
  type EventStreamConfig,
  type NatsSecurityErrorCode,
  type NatsSession,
  type NatsSettings,
} from './connections.js';
export {
  AcceptedPending,
  INFRASTRUCTURE_RETRY_AFTER_SECONDS,
  ProblemError,
  ProblemFilter,
  RetryableProblemError,
  infrastructureFailureOf,
  retryAfterOf,
  toProblem,
  type InfrastructureFailure,
  type ProblemDocument,
  type FieldProblem,
} from './problem.js';
export * from './tokens.js';
export { BusConnectionState, EventLogHealth, appendFailureReason } from './log-health.js';
export {
  PlatformModule,
  ProjectionHost,
  type ProjectionLagReport,
  type PlatformModuleOptions,
  type PlatformSettings,
  type HostedProjection,
} from './platform.module.js';
export { MAX_JSON_DEPTH, MAX_PARAM_LENGTH, createHttpService, jsonDepthExceeds, listenHttp, routesOf, type HttpServiceOptions, type RegisteredRoute } from './http.js';
export { AnyObject, Bool, Enum, Int, jsonSchemaOf, List, Obj, parseRequest, Str, Type, type Static, type TSchema } from './schema.js';
export { Public, PUBLIC_ROUTE } from './public-route.js';
export { runService, type StartedService } from './run-service.js';

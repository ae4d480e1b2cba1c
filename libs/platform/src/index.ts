export {
  ConfigError,
  field,
  loadConfig,
  redactUrl,
  describeConfig,
  type Field,
  type ConfigOf,
  type ConfigSources,
} from './config.js';
export { commonConfigSchema, SERVICE_NAMES, servicePrefix, type ServiceName } from './common-config.js';
export { createLogger, NestPinoLogger, REDACTED_PATHS } from './logger.js';
export { runReadinessChecks, type ReadinessCheck, type ReadinessReport } from './health.js';
export { createServiceMetrics, metricsObserver, type ServiceMetrics } from './metrics.js';
export { initTracing, formatTraceparent, startServerSpan, type Tracing } from './tracing.js';
export { connectNats, createPgPool, runMigrations, type NatsSettings } from './connections.js';
export { ProblemError, ProblemFilter, toProblem, type ProblemDocument, type FieldProblem } from './problem.js';
export * from './tokens.js';
export {
  PlatformModule,
  ProjectionHost,
  type PlatformModuleOptions,
  type PlatformSettings,
  type HostedProjection,
} from './platform.module.js';
export { createHttpService, routesOf, type HttpServiceOptions, type RegisteredRoute } from './http.js';
export { v, parseBody, type Validator } from './validation.js';
export { Public, PUBLIC_ROUTE } from './public-route.js';

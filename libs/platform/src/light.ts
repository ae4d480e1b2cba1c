// The parts of the platform that do not load NestJS (config, logging, redaction, readiness):
// for lean processes such as the node agent, which must stay small in memory.
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
export { REDACTED_PATHS } from './logger.js';
export { runReadinessChecks, type ReadinessCheck, type ReadinessReport } from './health.js';
export {
  createMetricsRegistry,
  startHealthServer,
  type HealthServer,
  type HealthServerOptions,
} from './health-server.js';

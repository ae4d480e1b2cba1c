import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createHttpService,
  listenHttp,
  createLogger,
  createServiceMetrics,
  describeConfig,
  initTracing,
  runMigrations,
  type Clock,
} from '@trustplane/platform';
import type { Logger } from 'pino';
import { RegistryModule, type RegistryModuleOptions } from './app.module.js';
import { registerAuthProxy } from './auth-proxy.js';
import { registerRegistryAudit } from './audit-publisher.js';
import { registryConfigSchema, type RegistryConfig } from './config.js';
import { registryMigrations } from './migrations/index.js';

/** A running registry. */
export interface RegistryServer {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** Migrates, boots and starts listening. Used by main.ts and by tests (in-process). */
export async function startRegistry(
  config: RegistryConfig,
  options: { clock?: Clock; logger?: Logger } & Pick<RegistryModuleOptions, 'hooks' | 'projections'> = {},
): Promise<RegistryServer> {
  const logger = options.logger ?? createLogger('registry', config.logLevel);
  initTracing('registry', config.tracing);
  logger.info({ config: describeConfig(registryConfigSchema, config) }, 'starting registry');
  const ran = await runMigrations(config.databaseUrl, registryMigrations(config.schema, config.apiDbRole), `${config.schema}_migrations`);
  if (ran.length > 0) logger.info({ migrations: ran }, 'migrations applied');
  const metrics = createServiceMetrics('registry');
  const app = await createHttpService(
    RegistryModule.forRoot({
      config,
      logger,
      metrics,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
      ...(options.projections === undefined ? {} : { projections: options.projections }),
    }),
    { logger, metrics, bodyLimit: config.bodyLimitBytes },
  );
  await registerAuthProxy(app, config.authUrl, logger);
  const audit = registerRegistryAudit(app, config, logger);
  const url = await listenHttp(app, config.host, config.port);
  logger.info({ url }, 'registry listening');
  return {
    app,
    url,
    logger,
    async close() {
      await audit.close();
      await app.close();
    },
  };
}

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuditPublisher, registerAuditHook, type CommandBusHooks } from '@trustplane/api-kit';
import { DiskKeyManager, MemoryKeyManager, type KeyManager } from '@trustplane/keymanager';
import { createHttpService, listenHttp, createLogger, createServiceMetrics, describeConfig, initTracing, runMigrations, type Clock } from '@trustplane/platform';
import type { Projection } from '@trustplane/eventstore';
import type { Logger } from 'pino';
import { AuthModule } from './app.module.js';
import { authConfigSchema, type AuthConfig } from './config.js';
import { authMigrations } from './migrations/index.js';

/** A running auth service. */
export interface AuthServer {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** The KeyManager of the credential signing key: sealed on disk under the operator's KEK, or in memory (tests). */
export async function openCredentialKeyManager(config: AuthConfig): Promise<KeyManager> {
  return config.keyManager === 'memory' ? new MemoryKeyManager() : DiskKeyManager.open({ dir: config.keyDir, kekPath: config.kekPath, createKek: true });
}

/** Migrates, boots and starts listening. Used by main.ts and by tests (in-process). */
export async function startAuth(
  config: AuthConfig,
  options: { clock?: Clock; logger?: Logger; hooks?: CommandBusHooks; keyManager?: KeyManager; projections?: readonly Projection[] } = {},
): Promise<AuthServer> {
  const logger = options.logger ?? createLogger('auth', config.logLevel);
  initTracing('auth', config.tracing);
  logger.info({ config: describeConfig(authConfigSchema, config) }, 'starting auth');
  const ran = await runMigrations(config.databaseUrl, authMigrations(config.schema, config.apiDbRole), `${config.schema}_migrations`);
  if (ran.length > 0) logger.info({ migrations: ran }, 'migrations applied');
  const keyManager = options.keyManager ?? (await openCredentialKeyManager(config));
  const metrics = createServiceMetrics('auth');
  const app = await createHttpService(
    AuthModule.forRoot({
      config,
      logger,
      metrics,
      keyManager,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
      ...(options.projections === undefined ? {} : { projections: options.projections }),
    }),
    { logger, metrics, bodyLimit: config.bodyLimitBytes },
  );
  const audit = app.get(AuditPublisher);
  audit.start();
  // Verifying and anchoring work on the chain itself (an anchor is an audit.anchored event in the log).
  registerAuditHook(app, { service: 'auth', publisher: audit, skip: (route) => route.startsWith('/api/v1/audit') });
  const url = await listenHttp(app, config.host, config.port);
  logger.info({ url }, 'auth listening');
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

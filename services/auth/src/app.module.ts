import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { API_KIT_SETTINGS, ApiTokenGuard, AuditPublisher, PgAuditSpool, COMMAND_BUS_HOOKS, CommandBus, IdempotencyInterceptor, TenantDb, type ApiKitSettings, type CommandBusHooks } from '@trustplane/api-kit';
import type { Projection } from '@trustplane/eventstore';
import type { KeyManager } from '@trustplane/keymanager';
import { LOGGER, NATS, PG_POOL, PlatformModule, type Clock, type ServiceMetrics } from '@trustplane/platform';
import type { Pool } from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { AuditChainService } from './audit/audit-chain.service.js';
import { AuditController } from './audit/audit.controller.js';
import { AuditService } from './audit/audit.service.js';
import { apiDatabaseUrlOf, type AuthConfig } from './config.js';
import { CredentialSigner } from './credentials/credential-signer.js';
import { CredentialsController } from './credentials/credentials.controller.js';
import { ExchangeService } from './credentials/exchange.service.js';
import { DeploymentKeysController } from './keys/deployment-keys.controller.js';
import { DeploymentKeysService } from './keys/deployment-keys.service.js';
import { authProjections } from './model/auth.projection.js';
import { AUTH_CONFIG, CREDENTIAL_KEY_MANAGER } from './tokens.js';

/** What the auth service's root module is built from. */
export interface AuthModuleOptions {
  readonly config: AuthConfig;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** The KeyManager holding the credential signing key (opened by the caller). */
  readonly keyManager: KeyManager;
  readonly clock?: Clock;
  /** Test seams of the command bus. */
  readonly hooks?: CommandBusHooks;
  /** The read models to run (default: all; a crash-test process runs none). */
  readonly projections?: readonly Projection[];
}

/** The auth service's root module. */
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    const { config } = options;
    const settings: ApiKitSettings = {
      schema: config.schema,
      tenantDatabaseUrl: apiDatabaseUrlOf(config),
      idempotencyClaimMs: config.idempotencyClaimMs,
      idempotencyRetentionSeconds: config.idempotencyRetentionSeconds,
      projectionWaitMs: config.projectionWaitMs,
    };
    return {
      module: AuthModule,
      imports: [
        PlatformModule.forRoot({
          service: 'auth',
          settings: config,
          logger: options.logger,
          metrics: options.metrics,
          projections: (options.projections ?? authProjections).map((projection) => ({ projection, schema: config.schema })),
          readinessChecks: [{ name: 'key-manager', check: async () => void (options.keyManager.ready() || Promise.reject(new Error('the KeyManager is not ready'))) }],
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        }),
      ],
      controllers: [DeploymentKeysController, CredentialsController, AuditController],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        { provide: API_KIT_SETTINGS, useValue: settings },
        { provide: CREDENTIAL_KEY_MANAGER, useValue: options.keyManager },
        { provide: COMMAND_BUS_HOOKS, useValue: options.hooks ?? {} },
        { provide: APP_GUARD, useClass: ApiTokenGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        {
          provide: AuditPublisher,
          inject: [NATS, PG_POOL, LOGGER],
          // Records are spooled in the auth schema before the answer and published from there.
          useFactory: (nc: NatsConnection, pool: Pool, logger: Logger) => new AuditPublisher(nc, config.subjectPrefix, logger, undefined, new PgAuditSpool(pool, config.schema)),
        },
        CommandBus,
        TenantDb,
        DeploymentKeysService,
        CredentialSigner,
        ExchangeService,
        AuditChainService,
        AuditService,
      ],
    };
  }
}

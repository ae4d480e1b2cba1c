import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { Projection } from '@trustplane/eventstore';
import { API_KIT_SETTINGS } from '@trustplane/api-kit';
import { PlatformModule, type Clock, type ServiceMetrics } from '@trustplane/platform';
import type { Logger } from 'pino';
import { AgentsController, TrustDomainAgentsController } from './agents/agents.controller.js';
import { AgentsService } from './agents/agents.service.js';
import { ApiTokenGuard } from './auth/auth.guard.js';
import { ClustersController } from './clusters/clusters.controller.js';
import { ClustersService } from './clusters/clusters.service.js';
import { COMMAND_BUS_HOOKS, CommandBus, type CommandBusHooks } from './command-bus.js';
import { ConfigSectionsController } from './config-sections/config-sections.controller.js';
import { ConfigSectionsService } from './config-sections/config-sections.service.js';
import { apiDatabaseUrlOf, type RegistryConfig } from './config.js';
import { EntriesController } from './entries/entries.controller.js';
import { EntriesService } from './entries/entries.service.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { KeysetsController } from './keysets/keysets.controller.js';
import { BundleController } from './keysets/bundle.controller.js';
import { SignerClient } from './keysets/signer.client.js';
import { OpenApiController } from './openapi.controller.js';
import { OrganizationsController } from './organizations/organizations.controller.js';
import { OrganizationsService } from './organizations/organizations.service.js';
import { registryProjections } from './projections.js';
import { Reconciler } from './reconciler/reconciler.js';
import { TenantDb } from './tenant-db.js';
import { REGISTRY_CONFIG } from './tokens.js';
import { TokensController, WhoamiController } from './tokens/tokens.controller.js';
import { TokensService } from './tokens/tokens.service.js';
import { DeploymentsController, TrustDomainsController } from './trust-domains/trust-domains.controller.js';
import { TrustDomainsService } from './trust-domains/trust-domains.service.js';
import { controlPlaneJwks } from '@trustplane/auth-client';
import { CREDENTIAL_KEYS, ControlPlaneCredentialGuard } from './sync/credential.guard.js';
import { SyncController } from './sync/sync.controller.js';
import { SyncNotifier } from './sync/sync.notifier.js';
import { SyncService } from './sync/sync.service.js';
import { FederationsController } from './federation/federations.controller.js';
import { FederationsService } from './federation/federations.service.js';

/** What the registry's root module is built from. */
export interface RegistryModuleOptions {
  readonly config: RegistryConfig;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly clock?: Clock;
  /** Test seams of the command bus (a registry killed right after an append). */
  readonly hooks?: CommandBusHooks;
  /** The read models to run (default: all of them; a crash-test process runs none). */
  readonly projections?: readonly Projection[];
}

/** The registry service's root module. */
@Module({})
export class RegistryModule {
  static forRoot(options: RegistryModuleOptions): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        PlatformModule.forRoot({
          service: 'registry',
          settings: options.config,
          logger: options.logger,
          metrics: options.metrics,
          projections: (options.projections ?? registryProjections).map((projection) => ({ projection, schema: options.config.schema })),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        }),
      ],
      controllers: [
        OrganizationsController,
        TrustDomainsController,
        ClustersController,
        EntriesController,
        TokensController,
        ConfigSectionsController,
        TrustDomainAgentsController,
        AgentsController,
        KeysetsController,
        BundleController,
        OpenApiController,
        WhoamiController,
        DeploymentsController,
        SyncController,
        FederationsController,
      ],
      providers: [
        { provide: REGISTRY_CONFIG, useValue: options.config },
        {
          provide: API_KIT_SETTINGS,
          useValue: {
            schema: options.config.schema,
            tenantDatabaseUrl: apiDatabaseUrlOf(options.config),
            idempotencyClaimMs: options.config.idempotencyClaimMs,
            idempotencyRetentionSeconds: options.config.idempotencyRetentionSeconds,
            projectionWaitMs: options.config.projectionWaitMs,
          },
        },
        { provide: COMMAND_BUS_HOOKS, useValue: options.hooks ?? {} },
        { provide: APP_GUARD, useClass: ApiTokenGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        CommandBus,
        TenantDb,
        OrganizationsService,
        TrustDomainsService,
        ClustersService,
        EntriesService,
        TokensService,
        ConfigSectionsService,
        AgentsService,
        SignerClient,
        Reconciler,
        SyncService,
        SyncNotifier,
        ControlPlaneCredentialGuard,
        {
          provide: CREDENTIAL_KEYS,
          useFactory: () => (options.config.authUrl === undefined ? null : controlPlaneJwks(withSlash(options.config.authUrl))),
        },
        FederationsService,
      ],
    };
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Clock, type ServiceMetrics } from '@trustplane/platform';
import type { Logger } from 'pino';
import type { RegistryConfig } from './config.js';
import { REGISTRY_CONFIG } from './tokens.js';
import { OrganizationsController } from './organizations/organizations.controller.js';
import { registryProjections } from './projections.js';
import { OrganizationsService } from './organizations/organizations.service.js';

/** What the registry's root module is built from. */
export interface RegistryModuleOptions {
  readonly config: RegistryConfig;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly clock?: Clock;
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
          projections: registryProjections.map((projection) => ({ projection, schema: options.config.schema })),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        }),
      ],
      controllers: [OrganizationsController],
      providers: [{ provide: REGISTRY_CONFIG, useValue: options.config }, OrganizationsService],
    };
  }
}

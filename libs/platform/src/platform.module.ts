import {
  Controller,
  Get,
  Inject,
  Module,
  Res,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventLog, ProjectionRunner, type Projection } from '@trustplane/eventstore';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ANONYMOUS_BUS_WARNING, createPgPool, eventStreamSettings, openNatsSession, type NatsSession } from './connections.js';
import { runReadinessChecks, type ReadinessCheck } from './health.js';
import { metricsObserver, type ServiceMetrics } from './metrics.js';
import { Public } from './public-route.js';
import {
  CLOCK,
  EVENT_LOG,
  LOGGER,
  METRICS,
  NATS,
  NATS_SESSION,
  PG_POOL,
  READINESS_CHECKS,
  READINESS_WARNINGS,
  systemClock,
  type Clock,
} from './tokens.js';

/** The shared settings the platform module needs (a subset of every service's config). */
export interface PlatformSettings {
  readonly natsUrl: string;
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
  /** Start on a NATS server that accepts anonymous connections (reported on /readyz). */
  readonly natsAllowAnonymous?: boolean;
  readonly databaseUrl: string;
  readonly eventStream: string;
  readonly subjectPrefix: string;
  readonly streamReplicas: number;
}

/** A projection and the schema its tables live in. */
export interface HostedProjection {
  readonly projection: Projection;
  readonly schema: string;
}

/** What a service hands the platform module. */
export interface PlatformModuleOptions {
  readonly service: string;
  readonly settings: PlatformSettings;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly projections: readonly HostedProjection[];
  readonly clock?: Clock;
  /** Readiness checks beyond NATS and Postgres (e.g. the signer's key custody). */
  readonly readinessChecks?: readonly ReadinessCheck[];
}

/** Liveness and readiness. */
@Public()
@Controller()
class HealthController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    @Inject(READINESS_WARNINGS) private readonly warnings: string[],
  ) {}

  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const report = await runReadinessChecks(this.checks);
    await reply.status(report.ready ? 200 : 503).send({
      status: report.ready ? 'ready' : 'not ready',
      checks: report.checks,
      ...(this.warnings.length === 0 ? {} : { warnings: this.warnings }),
    });
  }
}

/** Prometheus exposition. */
@Public()
@Controller()
class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: ServiceMetrics) {}

  @Get('metrics')
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    await reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

/** Starts the service's projection runners after boot and drains them first at shutdown. */
class ProjectionHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly runners: ProjectionRunner[];

  constructor(
    nc: NatsConnection,
    pool: Pool,
    log: EventLog,
    projections: readonly HostedProjection[],
    metrics: ServiceMetrics,
    private readonly logger: Logger,
  ) {
    const observer = metricsObserver(metrics, logger);
    this.runners = projections.map(
      (hosted) =>
        new ProjectionRunner({ nc, pool, stream: log.settings, schema: hosted.schema, projection: hosted.projection, observer }),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.start()));
    this.logger.info({ projections: this.runners.length }, 'projection runners started');
  }

  /** Resolves when every projection has committed `sequence` (read-your-writes for commands). */
  async waitForAll(sequence: number, timeoutMs = 5_000): Promise<void> {
    await Promise.all(this.runners.map((r) => r.waitFor(sequence, timeoutMs)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
    this.logger.info('projection runners drained');
  }
}

/** Closes connections last, after the runners drained. */
class ConnectionCloser implements OnApplicationShutdown {
  constructor(
    private readonly nc: NatsConnection,
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.nc.drain().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    this.logger.info('connections closed');
  }
}

/** Gives a service its config, logger, NATS, Postgres, event log, metrics, health and projections. */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    const { settings, logger } = options;
    const providers: Provider[] = [
      { provide: LOGGER, useValue: logger },
      { provide: METRICS, useValue: options.metrics },
      { provide: CLOCK, useValue: options.clock ?? systemClock },
      { provide: NATS_SESSION, useFactory: () => openNatsSession(settings, options.service, logger) },
      { provide: NATS, inject: [NATS_SESSION], useFactory: (session: NatsSession) => session.nc },
      {
        provide: READINESS_WARNINGS,
        inject: [NATS_SESSION],
        useFactory: (session: NatsSession): string[] => (session.anonymousAccepted ? [ANONYMOUS_BUS_WARNING] : []),
      },
      { provide: PG_POOL, useFactory: () => createPgPool(settings.databaseUrl) },
      {
        provide: EVENT_LOG,
        inject: [NATS],
        useFactory: (nc: NatsConnection) => EventLog.open(nc, eventStreamSettings(settings)),
      },
      {
        provide: READINESS_CHECKS,
        inject: [NATS, PG_POOL],
        useFactory: (nc: NatsConnection, pool: Pool): ReadinessCheck[] => [
          { name: 'nats', check: async () => void (await nc.rtt()) },
          { name: 'postgres', check: async () => void (await pool.query('SELECT 1')) },
          ...(options.readinessChecks ?? []),
        ],
      },
      {
        provide: ProjectionHost,
        inject: [NATS, PG_POOL, EVENT_LOG, METRICS, LOGGER],
        useFactory: (nc: NatsConnection, pool: Pool, log: EventLog, metrics: ServiceMetrics, l: Logger) =>
          new ProjectionHost(nc, pool, log, options.projections, metrics, l),
      },
      {
        provide: ConnectionCloser,
        inject: [NATS, PG_POOL, LOGGER],
        useFactory: (nc: NatsConnection, pool: Pool, l: Logger) => new ConnectionCloser(nc, pool, l),
      },
    ];
    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController, MetricsController],
      providers,
      exports: [LOGGER, METRICS, CLOCK, NATS, NATS_SESSION, PG_POOL, EVENT_LOG, READINESS_CHECKS, READINESS_WARNINGS, ProjectionHost],
    };
  }
}

export { ProjectionHost };

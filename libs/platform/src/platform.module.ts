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
import { EventLog, ProjectionRunner, quoteIdent, type Projection, type ProjectionLag } from '@trustplane/eventstore';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ANONYMOUS_BUS_WARNING, createPgPool, eventStreamSettings, openNatsSession, type NatsSession } from './connections.js';
import { runReadinessChecks, type ReadinessCheck } from './health.js';
import { BusConnectionState, EventLogHealth } from './log-health.js';
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
  /** A projection behind the log for longer than this makes /readyz 503 (default 5). */
  readonly readyMaxLagSeconds?: number;
  /** How long /readyz stays 503 after a failed append unless one succeeds since (default 30). */
  readonly readyAppendFailureSeconds?: number;
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

/** How far one projection is behind the log, as /readyz reports it. */
export interface ProjectionLagReport {
  readonly checkpoint: number;
  readonly streamLastSequence: number;
  readonly behindSequences: number;
  readonly behindSeconds: number;
}

/** How often the stream's state is read to measure the projections' lag. */
const STREAM_POLL_MS = 1_000;
/** Every how many polls the dead-letter tables are counted. */
const DEAD_LETTER_POLLS = 5;

/**
 * Starts the service's projection runners after boot and drains them first at shutdown. While
 * they run it reads the stream's state every second: each runner learns how far the log has gone
 * (its lag), the event-log health learns the stream's fill, and the lag and dead-letter gauges
 * are kept current.
 */
class ProjectionHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly runners: ProjectionRunner[];
  private timer: NodeJS.Timeout | undefined;
  private polls = 0;
  private polling: Promise<void> | undefined;

  constructor(
    nc: NatsConnection,
    private readonly pool: Pool,
    private readonly log: EventLog,
    private readonly projections: readonly HostedProjection[],
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    private readonly health: EventLogHealth,
    private readonly maxLagSeconds: number,
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
    this.timer = setInterval(() => void this.poll(), STREAM_POLL_MS);
    this.timer.unref();
  }

  /** Reads the stream's state once (one poll at a time) and updates lags and gauges. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    try {
      const state = await this.log.streamState();
      this.health.observeStream(state);
      for (const runner of this.runners) runner.observeStreamSequence(state.lastSequence);
    } catch {
      // NATS unreachable: the nats readiness check says so; the lag keeps growing from the last
      // observation.
    }
    const now = Date.now();
    for (const runner of this.runners) {
      const lag = runner.lag(now);
      this.metrics.projectionLag.set({ projection: runner.name }, lag.seconds);
      this.metrics.projectionLagSequences.set({ projection: runner.name }, lag.sequences);
    }
    if (this.polls++ % DEAD_LETTER_POLLS === 0) await this.countDeadLetters().catch(() => undefined);
  }

  private async countDeadLetters(): Promise<void> {
    for (const hosted of this.projections) {
      const result = await this.pool.query<{ rows: string }>(
        `SELECT count(*) AS rows FROM ${quoteIdent(hosted.schema)}.projection_dead_letters WHERE projection = $1`,
        [hosted.projection.name],
      );
      this.metrics.projectionDeadLetterRows.set({ projection: hosted.projection.name }, Number(result.rows[0]?.rows ?? 0));
    }
  }

  /** Each projection's lag, by name. */
  lagReport(now = Date.now()): Record<string, ProjectionLagReport> {
    return Object.fromEntries(
      this.runners.map((runner) => {
        const lag: ProjectionLag = runner.lag(now);
        return [
          runner.name,
          { checkpoint: lag.checkpoint, streamLastSequence: lag.streamLast, behindSequences: lag.sequences, behindSeconds: Math.round(lag.seconds * 10) / 10 },
        ];
      }),
    );
  }

  /** Throws, naming them, when projections have been behind the log for longer than allowed. */
  async checkLag(): Promise<void> {
    await this.poll();
    const now = Date.now();
    const late = this.runners
      .map((runner) => ({ name: runner.name, lag: runner.lag(now) }))
      .filter(({ lag }) => lag.seconds > this.maxLagSeconds);
    if (late.length > 0) {
      throw new Error(
        late.map(({ name, lag }) => `${name} is ${lag.sequences} events (${lag.seconds.toFixed(1)} s) behind the event log`).join('; ') +
          ` (limit ${this.maxLagSeconds} s)`,
      );
    }
  }

  /** Resolves when every projection has committed `sequence` (read-your-writes for commands). */
  async waitForAll(sequence: number, timeoutMs = 5_000): Promise<void> {
    await Promise.all(this.runners.map((r) => r.waitFor(sequence, timeoutMs)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const drained = await withinDeadline(
      (async () => {
        await this.polling;
        await Promise.all(this.runners.map((r) => r.stop()));
      })(),
      SHUTDOWN_STEP_MS,
    );
    if (drained) this.logger.info('projection runners drained');
    // Nothing is acknowledged: a runner cut short loses nothing, its successor reads on.
    else this.logger.warn({ deadlineMs: SHUTDOWN_STEP_MS }, 'projection runners did not stop in time; shutting down anyway');
  }
}

/** Longest wait for one shutdown step (runners, NATS, PostgreSQL): SIGTERM must end the process. */
const SHUTDOWN_STEP_MS = 3_000;

/** Waits for `work` at most `ms`; true when it settled in time. */
async function withinDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

/** Liveness and readiness. */
@Public()
@Controller()
class HealthController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    @Inject(READINESS_WARNINGS) private readonly warnings: string[],
    private readonly projections: ProjectionHost,
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
      projections: this.projections.lagReport(),
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

/** Closes connections last, after the runners drained. */
class ConnectionCloser implements OnApplicationShutdown {
  constructor(
    private readonly nc: NatsConnection,
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // Each bounded: a connection that keeps reconnecting, or a pool with a client that never comes
    // back, must not hold the process after SIGTERM.
    const drained = await withinDeadline(this.nc.drain(), SHUTDOWN_STEP_MS);
    if (!drained) await this.nc.close().catch(() => undefined);
    const ended = await withinDeadline(this.pool.end(), SHUTDOWN_STEP_MS);
    if (drained && ended) this.logger.info('connections closed');
    else this.logger.warn({ natsDrained: drained, poolEnded: ended, deadlineMs: SHUTDOWN_STEP_MS }, 'connections closed after a deadline');
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
      {
        provide: PG_POOL,
        useFactory: () => {
          const pool = createPgPool(settings.databaseUrl);
          options.metrics.pools.set('main', pool);
          return pool;
        },
      },
      { provide: BusConnectionState, inject: [NATS], useFactory: (nc: NatsConnection) => new BusConnectionState(nc, options.metrics) },
      {
        provide: EventLogHealth,
        useFactory: () => new EventLogHealth(options.metrics, logger, (settings.readyAppendFailureSeconds ?? 30) * 1000),
      },
      {
        provide: EVENT_LOG,
        inject: [NATS, EventLogHealth],
        useFactory: async (nc: NatsConnection, health: EventLogHealth) => {
          const log = await EventLog.open(nc, eventStreamSettings(settings));
          log.observe(health);
          return log;
        },
      },
      {
        provide: READINESS_CHECKS,
        inject: [NATS, PG_POOL, BusConnectionState, EventLogHealth, ProjectionHost],
        useFactory: (nc: NatsConnection, pool: Pool, bus: BusConnectionState, health: EventLogHealth, host: ProjectionHost): ReadinessCheck[] => [
          {
            name: 'nats',
            check: async () => {
              const down = bus.problem();
              if (down !== undefined) throw new Error(down);
              await nc.rtt();
            },
          },
          { name: 'postgres', check: async () => void (await pool.query('SELECT 1')) },
          {
            name: 'event-log',
            check: async () => {
              const problem = health.problem();
              if (problem !== undefined) throw new Error(problem);
            },
          },
          { name: 'projections', check: () => host.checkLag() },
          ...(options.readinessChecks ?? []),
        ],
      },
      {
        provide: ProjectionHost,
        inject: [NATS, PG_POOL, EVENT_LOG, METRICS, LOGGER, EventLogHealth],
        useFactory: (nc: NatsConnection, pool: Pool, log: EventLog, metrics: ServiceMetrics, l: Logger, health: EventLogHealth) =>
          new ProjectionHost(nc, pool, log, options.projections, metrics, l, health, settings.readyMaxLagSeconds ?? 5),
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
      exports: [LOGGER, METRICS, CLOCK, NATS, NATS_SESSION, PG_POOL, EVENT_LOG, READINESS_CHECKS, READINESS_WARNINGS, ProjectionHost, BusConnectionState, EventLogHealth],
    };
  }
}

export { ProjectionHost };

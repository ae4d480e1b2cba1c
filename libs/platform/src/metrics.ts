import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Pool } from 'pg';
import { refusalReason, type ProjectionObserver } from '@trustplane/eventstore';
import { createMetricsRegistry } from './health-server.js';

/** The Prometheus metrics every service exports. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly projectionEvents: Counter<'projection'>;
  readonly projectionCheckpoint: Gauge<'projection'>;
  /** For how long the projection has been behind the log (0 when caught up). */
  readonly projectionLag: Gauge<'projection'>;
  /** Stream sequences stored but not applied by the projection yet. */
  readonly projectionLagSequences: Gauge<'projection'>;
  /** Age of the newest event of a batch when it was committed. */
  readonly projectionEventAge: Gauge<'projection'>;
  /** Rows in the projection's dead-letter table (what an operator must look at). */
  readonly projectionDeadLetterRows: Gauge<'projection'>;
  /** Appends to the event log that stored their events. */
  readonly appends: Counter;
  /** Appends to the event log that failed (not counting concurrency conflicts), by reason. */
  readonly appendFailures: Counter<'reason'>;
  /** 1 while the NATS connection is up. */
  readonly natsConnected: Gauge;
  /** Database pool connections by pool and state (read at scrape time). */
  readonly dbPoolConnections: Gauge<'pool' | 'state'>;
  /** Pools reported by `dbPoolConnections`, by name. */
  readonly pools: Map<string, Pool>;
  readonly projectionDeadLetters: Counter<'projection'>;
  /** Events refused as forged, misrouted or of an unknown type (alert on any). */
  readonly projectionRefused: Counter<'projection' | 'reason'>;
  readonly projectionFailures: Counter<'projection'>;
  /** Sequences found missing before later ones arrived (the runner read again from its checkpoint). */
  readonly projectionGaps: Counter<'projection'>;
}

/** Creates a registry with process metrics and the shared service metrics. */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = createMetricsRegistry(service);
  const pools = new Map<string, Pool>();
  return {
    pools,
    projectionLagSequences: new Gauge({
      name: 'tp_projection_lag_sequences',
      help: 'Stream sequences stored in the event log and not applied by the projection yet',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionEventAge: new Gauge({
      name: 'tp_projection_event_age_seconds',
      help: 'Age of the newest event of a batch at the time the batch was committed',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionDeadLetterRows: new Gauge({
      name: 'tp_projection_dead_letters',
      help: 'Rows in the dead-letter table of a projection (events it could not apply; look at them)',
      labelNames: ['projection'],
      registers: [registry],
    }),
    appends: new Counter({ name: 'tp_event_log_appends_total', help: 'Appends to the event log that stored their events', registers: [registry] }),
    appendFailures: new Counter({
      name: 'tp_event_log_append_failures_total',
      help: 'Appends to the event log that failed (store full, JetStream or NATS unavailable…), concurrency conflicts not counted',
      labelNames: ['reason'],
      registers: [registry],
    }),
    natsConnected: new Gauge({ name: 'tp_nats_connected', help: '1 while the NATS connection is up', registers: [registry] }),
    dbPoolConnections: new Gauge({
      name: 'tp_db_pool_connections',
      help: 'Database pool connections by pool and state (total, idle, in_use, waiting clients)',
      labelNames: ['pool', 'state'],
      registers: [registry],
      collect() {
        for (const [name, pool] of pools) {
          this.set({ pool: name, state: 'total' }, pool.totalCount);
          this.set({ pool: name, state: 'idle' }, pool.idleCount);
          this.set({ pool: name, state: 'in_use' }, pool.totalCount - pool.idleCount);
          this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
        }
      },
    }),
    registry,
    httpRequests: new Counter({
      name: 'tp_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'tp_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    projectionEvents: new Counter({
      name: 'tp_projection_events_applied_total',
      help: 'Events applied to a projection',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionCheckpoint: new Gauge({
      name: 'tp_projection_checkpoint',
      help: 'Last stream sequence committed by a projection',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionLag: new Gauge({
      name: 'tp_projection_lag_seconds',
      help: 'For how long the projection has been behind the event log (0 when caught up)',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionDeadLetters: new Counter({
      name: 'tp_projection_dead_letters_total',
      help: 'Events parked in the dead-letter table',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionRefused: new Counter({
      name: 'tp_projection_events_refused_total',
      help: 'Events refused (dead-lettered, not applied) because their subject and envelope disagree or their type is unknown or not of that aggregate',
      labelNames: ['projection', 'reason'],
      registers: [registry],
    }),
    projectionFailures: new Counter({
      name: 'tp_projection_batch_failures_total',
      help: 'Batches that failed transiently and were retried',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionGaps: new Counter({
      name: 'tp_projection_gaps_total',
      help: 'Times a projection found a stream sequence missing before later ones and read the log again from its checkpoint',
      labelNames: ['projection'],
      registers: [registry],
    }),
  };
}

/** A ProjectionObserver that records into the service metrics and logs problems. */
export function metricsObserver(
  metrics: ServiceMetrics,
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void },
): ProjectionObserver {
  return {
    batchCommitted(projection, applied, checkpoint, lagMs) {
      metrics.projectionEvents.inc({ projection }, applied);
      metrics.projectionCheckpoint.set({ projection }, checkpoint);
      metrics.projectionEventAge.set({ projection }, lagMs / 1000);
    },
    deadLettered(projection, sequence, error) {
      metrics.projectionDeadLetters.inc({ projection });
      const reason = refusalReason(error);
      if (reason === undefined) {
        log.error({ projection, sequence, err: error }, 'event dead-lettered');
        return;
      }
      metrics.projectionRefused.inc({ projection, reason });
      log.error({ projection, sequence, reason, err: error, alert: 'forged-or-unknown-event' }, 'event refused: not where its writer may put it, or of an unknown type');
    },
    gapDetected(projection, missing, received) {
      metrics.projectionGaps.inc({ projection });
      log.warn({ projection, missing, received }, 'projection found a hole in the log; reading again from its checkpoint');
    },
    batchFailed(projection, error) {
      metrics.projectionFailures.inc({ projection });
      log.warn({ projection, err: error }, 'projection batch failed; retrying');
    },
  };
}

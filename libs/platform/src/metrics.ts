import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { refusalReason, type ProjectionObserver } from '@trustplane/eventstore';
import { createMetricsRegistry } from './health-server.js';

/** The Prometheus metrics every service exports. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly projectionEvents: Counter<'projection'>;
  readonly projectionCheckpoint: Gauge<'projection'>;
  readonly projectionLag: Gauge<'projection'>;
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
  return {
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
      help: 'Age of the newest event at the time it was committed',
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
      metrics.projectionLag.set({ projection }, lagMs / 1000);
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

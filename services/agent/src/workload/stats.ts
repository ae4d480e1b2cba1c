/**
 * Counters of the Workload API, kept in plain numbers (cheap on the hot path) and exported to
 * Prometheus on scrape through collect callbacks.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** The Workload API methods, as named on the wire. */
export const WORKLOAD_METHODS = [
  'FetchX509SVID',
  'FetchX509Bundles',
  'FetchJWTSVID',
  'FetchJWTBundles',
  'ValidateJWTSVID',
  'FetchWITSVID',
  'FetchWITBundles',
] as const;

/** A Workload API method name. */
export type WorkloadMethod = (typeof WORKLOAD_METHODS)[number];

/** A point-in-time copy of the counters. */
export interface WorkloadApiStatsSnapshot {
  /** Open streams by method (server-streaming methods only). */
  readonly activeStreams: Readonly<Record<string, number>>;
  /** Finished calls by method, then by gRPC status name (`OK`, `PERMISSION_DENIED`, …). */
  readonly calls: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Open client connections on the socket. */
  readonly connections: number;
  /** Messages written on streams (first messages and updates). */
  readonly streamMessages: number;
  /** Connections closed at accept because the connection cap was reached. */
  readonly droppedConnections: number;
}

/** The Workload API's counters. */
export class WorkloadApiStats {
  private readonly active = new Map<string, number>();
  private readonly finished = new Map<string, Map<string, number>>();
  private openConnections = 0;
  private dropped = 0;
  private messages = 0;

  /** A stream was opened (after its caller was authorized). */
  streamOpened(method: WorkloadMethod): void {
    this.active.set(method, (this.active.get(method) ?? 0) + 1);
  }

  /** A stream previously counted by {@link streamOpened} ended. */
  streamClosed(method: WorkloadMethod): void {
    this.active.set(method, Math.max(0, (this.active.get(method) ?? 0) - 1));
  }

  /** A call finished with `status` (a gRPC status name). */
  callFinished(method: WorkloadMethod, status: string): void {
    let byStatus = this.finished.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.finished.set(method, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** A connection was accepted (+1) or closed (-1). */
  connectionDelta(delta: 1 | -1): void {
    this.openConnections += delta;
  }

  /** A connection was closed at accept: the connection cap was reached. */
  connectionDropped(): void {
    this.dropped++;
  }

  /** A stream message was written. */
  messageSent(): void {
    this.messages++;
  }

  /** Open streams of one method. */
  activeStreams(method: WorkloadMethod): number {
    return this.active.get(method) ?? 0;
  }

  /** Finished calls of one method with one status. */
  calls(method: WorkloadMethod, status: string): number {
    return this.finished.get(method)?.get(status) ?? 0;
  }

  /** A copy of every counter. */
  snapshot(): WorkloadApiStatsSnapshot {
    const calls: Record<string, Record<string, number>> = {};
    for (const [method, byStatus] of this.finished) calls[method] = Object.fromEntries(byStatus);
    return {
      activeStreams: Object.fromEntries(this.active),
      calls,
      connections: this.openConnections,
      streamMessages: this.messages,
      droppedConnections: this.dropped,
    };
  }

  /**
   * Registers `tp_workload_api_active_streams{method}`, `tp_workload_api_connections`,
   * `tp_workload_api_dropped_connections_total`,
   * `tp_workload_api_calls_total{method,status}` and `tp_workload_api_stream_messages_total`
   * in `registry`; values are read from these counters on each scrape.
   */
  register(registry: Registry): void {
    const active = this.active;
    const finished = this.finished;
    const connections = (): number => this.openConnections;
    const dropped = (): number => this.dropped;
    const messages = (): number => this.messages;
    new Gauge({
      name: 'tp_workload_api_active_streams',
      help: 'Open Workload API streams by method',
      labelNames: ['method'],
      registers: [registry],
      collect() {
        for (const [method, n] of active) this.set({ method }, n);
      },
    });
    new Gauge({
      name: 'tp_workload_api_connections',
      help: 'Open connections on the Workload API socket',
      registers: [registry],
      collect() {
        this.set(connections());
      },
    });
    new Counter({
      name: 'tp_workload_api_dropped_connections_total',
      help: 'Connections closed at accept because TP_AGENT_MAX_CONNECTIONS were open',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(dropped());
      },
    });
    new Counter({
      name: 'tp_workload_api_calls_total',
      help: 'Finished Workload API calls by method and gRPC status',
      labelNames: ['method', 'status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [method, byStatus] of finished) {
          for (const [status, n] of byStatus) this.inc({ method, status }, n);
        }
      },
    });
    new Counter({
      name: 'tp_workload_api_stream_messages_total',
      help: 'Messages written on Workload API streams',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(messages());
      },
    });
  }
}

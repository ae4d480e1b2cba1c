import type { NatsConnection } from '@nats-io/transport-node';
import type { AppendObserver, StreamState } from '@trustplane/eventstore';
import type { ServiceMetrics } from './metrics.js';

/** A short, stable label for why an append failed (metric label; the log has the full error). */
export function appendFailureReason(error: unknown): string {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  const text = chain.map((e) => (e instanceof Error ? `${e.name} ${e.message}` : String(e))).join(' ');
  if (/EventLogUnavailableError|disconnected|connection/i.test(text)) return 'disconnected';
  if (/insufficient resources|maximum bytes|maximum messages|storage/i.test(text)) return 'store_full';
  if (/timeout/i.test(text)) return 'timeout';
  if (/no responders|JetStreamNotEnabled|no suitable peers|leader/i.test(text)) return 'jetstream_unavailable';
  return 'error';
}

/**
 * Whether the service can write to the event log right now, from what its appends met: an append
 * that failed (other than a concurrency conflict) makes the log "failing" until one succeeds or
 * `failureWindowMs` passes (after that a new write may try again: a service that no longer gets
 * traffic must not stay unready forever). Also records the stream's fill against its limits.
 */
export class EventLogHealth implements AppendObserver {
  private lastFailureAt: number | undefined;
  private lastFailure: string | undefined;
  private lastSuccessAt: number | undefined;
  private stream: StreamState | undefined;

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly logger: { warn(obj: object, msg: string): void },
    private readonly failureWindowMs: number,
  ) {}

  appended(): void {
    this.lastSuccessAt = Date.now();
    this.metrics.appends.inc();
  }

  appendFailed(error: unknown): void {
    const reason = appendFailureReason(error);
    this.lastFailureAt = Date.now();
    this.lastFailure = `${reason}: ${error instanceof Error ? error.message : String(error)}`;
    this.metrics.appendFailures.inc({ reason });
    this.logger.warn({ err: error, reason }, 'append to the event log failed');
  }

  /** Records the stream's state as last read. */
  observeStream(state: StreamState): void {
    this.stream = state;
  }

  /** Why writes cannot be served now, or undefined when they can. */
  problem(now = Date.now()): string | undefined {
    const stream = this.stream;
    if (stream !== undefined && stream.maxBytes > 0 && stream.bytes >= stream.maxBytes) {
      return `the event stream is full (${stream.bytes} of ${stream.maxBytes} bytes)`;
    }
    if (stream !== undefined && stream.maxMessages > 0 && stream.messages >= stream.maxMessages) {
      return `the event stream is full (${stream.messages} of ${stream.maxMessages} messages)`;
    }
    const failedAt = this.lastFailureAt;
    if (failedAt === undefined || now - failedAt > this.failureWindowMs) return undefined;
    if (this.lastSuccessAt !== undefined && this.lastSuccessAt > failedAt) return undefined;
    return `appends are failing (last ${Math.round((now - failedAt) / 100) / 10} s ago: ${this.lastFailure ?? 'unknown'})`;
  }
}

/** The NATS connection's state as its status events tell it, for readiness and a gauge. */
export class BusConnectionState {
  private connected = true;
  private since = Date.now();
  private watching = true;

  constructor(
    nc: NatsConnection,
    private readonly metrics: ServiceMetrics,
  ) {
    metrics.natsConnected.set(nc.isClosed() ? 0 : 1);
    void this.watch(nc).catch(() => undefined);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (!this.watching) return;
      if (status.type === 'disconnect') this.set(false);
      else if (status.type === 'reconnect') this.set(true);
    }
    this.set(false);
  }

  private set(connected: boolean): void {
    if (connected !== this.connected) this.since = Date.now();
    this.connected = connected;
    this.metrics.natsConnected.set(connected ? 1 : 0);
  }

  /** True unless the connection is known to be down. */
  get up(): boolean {
    return this.connected;
  }

  /** Why the bus cannot be used now, or undefined. */
  problem(now = Date.now()): string | undefined {
    return this.connected ? undefined : `disconnected from NATS for ${Math.round((now - this.since) / 100) / 10} s (reconnecting)`;
  }

  stop(): void {
    this.watching = false;
  }
}

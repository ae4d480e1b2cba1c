import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** The tracing set-up of a process. */
export interface Tracing {
  /** Spans recorded in memory (only with exporter `memory`). */
  readonly memory: InMemorySpanExporter | undefined;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/**
 * Installs the global tracer provider with the W3C trace-context propagator. Idempotent:
 * a second call returns the first set-up.
 */
export function initTracing(serviceName: string, exporter: 'none' | 'console' | 'memory'): Tracing {
  if (installed !== undefined) return installed;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const memory = exporter === 'memory' ? new InMemorySpanExporter() : undefined;
  const processors: SpanProcessor[] = [];
  if (memory !== undefined) processors.push(new SimpleSpanProcessor(memory));
  if (exporter === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const provider = new NodeTracerProvider({ spanProcessors: processors });
  provider.register();
  void serviceName;
  installed = { memory, shutdown: () => provider.shutdown() };
  return installed;
}

/** Formats a span context as a W3C `traceparent` header value. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** Starts a server span continuing the caller's `traceparent` header, if any. */
export function startServerSpan(
  name: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): { span: Span; traceparent: string | undefined } {
  const carrier: Record<string, string> = {};
  const incoming = headers['traceparent'];
  if (typeof incoming === 'string') carrier['traceparent'] = incoming;
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  const span = trace.getTracer('@trustplane/platform').startSpan(name, { kind: SpanKind.SERVER }, parent ?? context.active());
  const spanContext = span.spanContext();
  const traceparent = trace.isSpanContextValid(spanContext)
    ? formatTraceparent(spanContext)
    : typeof incoming === 'string'
      ? incoming
      : undefined;
  return { span, traceparent };
}

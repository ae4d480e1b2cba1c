import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Span } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { NestPinoLogger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';
import { ProblemFilter } from './problem.js';
import { startServerSpan } from './tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C traceparent of this request's server span (carried into event envelopes). */
    traceparent?: string;
    /** The request's server span. */
    serverSpan?: Span;
  }
}

/** A route the HTTP server serves. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
}

const registeredRoutes = new WeakMap<object, RegisteredRoute[]>();

/** Every route the application registered (for checking the API description against it). */
export function routesOf(app: object): readonly RegisteredRoute[] {
  return registeredRoutes.get(app) ?? [];
}

/** How a service's HTTP server is set up. */
export interface HttpServiceOptions {
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** Largest accepted request body in bytes. */
  readonly bodyLimit?: number;
}

/**
 * Creates the Nest application on Fastify with tracing (W3C traceparent in, server span per
 * request), request metrics, problem+json errors and graceful shutdown hooks.
 */
export async function createHttpService(
  rootModule: DynamicModule | Type<unknown>,
  options: HttpServiceOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 64 * 1024, trustProxy: false });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: new NestPinoLogger(options.logger),
    bufferLogs: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const routes: RegisteredRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url });
  });
  registeredRoutes.set(app, routes);
  fastify.addHook('onRequest', async (request: FastifyRequest) => {
    const { span, traceparent } = startServerSpan(`${request.method} ${request.routeOptions.url ?? request.url}`, request.headers);
    request.serverSpan = span;
    if (traceparent !== undefined) request.traceparent = traceparent;
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    options.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.serverSpan?.setAttribute('http.status_code', reply.statusCode);
    request.serverSpan?.end();
  });
  app.useGlobalFilters(new ProblemFilter(options.logger));
  // Signals are handled by each service's main.ts, which calls app.close() (running the
  // shutdown hooks) and exits 0; Nest's own signal hooks would re-raise the signal instead.
  return app;
}

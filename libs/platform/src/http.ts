import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Span } from '@opentelemetry/api';
import type { Socket } from 'node:net';
import { checkText } from '@trustplane/spiffe';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { NestPinoLogger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';
import { ProblemError, ProblemFilter, toProblem } from './problem.js';
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

/** Deepest nesting of arrays and objects accepted in a JSON request body. */
export const MAX_JSON_DEPTH = 32;
/** Longest path parameter (a trust domain name is at most 255 bytes). */
export const MAX_PARAM_LENGTH = 512;
/** A request line longer than this is answered 414 rather than 431. */
const MAX_REQUEST_LINE = 8192;

/**
 * True when `json` nests arrays or objects deeper than `max`. A linear scan of the text, so a
 * hostile document is refused before anything recursive (JSON.stringify, the validators, the
 * database's jsonb) sees it.
 */
export function jsonDepthExceeds(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Why a decoded path segment or query value is refused, or undefined (the shared text rule). */
function urlTextProblem(where: string, value: string): ProblemError | undefined {
  const checked = checkText(value, { maxLength: Number.MAX_SAFE_INTEGER });
  if (checked.ok) return undefined;
  const message = `${where}: ${checked.error.message}`;
  return new ProblemError(400, 'URL_INVALID', message, [{ field: where, code: checked.error.code, message }]);
}

/** Refuses NUL, unpaired surrogates and control characters anywhere in the decoded path or query. */
function checkRequestUrl(request: FastifyRequest): void {
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart === -1 ? '' : request.url.slice(queryStart + 1);
  const components = [...path.split('/').map((part) => ['path', part] as const), ...query.split(/[&=]/).map((part) => ['query', part.replace(/\+/g, ' ')] as const)];
  for (const [where, component] of components) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(component);
    } catch {
      throw new ProblemError(400, 'URL_INVALID', `the ${where} is not valid percent-encoded UTF-8`);
    }
    const problem = where === 'path' ? urlTextProblem('path', decoded) : undefined;
    if (problem !== undefined) throw problem;
  }
  for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    for (const text of [key, ...[value].flat()]) {
      if (typeof text !== 'string') continue;
      const problem = urlTextProblem(`query ${key.replace(/[^\x20-\x7e]/g, '?')}`, text);
      if (problem !== undefined) throw problem;
    }
  }
}

/** Sends a problem document from outside Nest (router and client errors). */
function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, instance: string): void {
  const problem = toProblem(new ProblemError(status, code, detail), instance);
  void reply.status(status).header('content-type', 'application/problem+json').send(problem);
}

/** Errors the router raises before Nest sees the request (bad encoding, over-long parameters). */
function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') sendProblem(reply, 414, 'URI_TOO_LONG', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`, request.url.slice(0, 200));
  else if (error.code === 'FST_ERR_BAD_URL') sendProblem(reply, 400, 'URL_INVALID', 'the path is not valid percent-encoded UTF-8', request.url.slice(0, 200));
  else sendProblem(reply, 500, 'INTERNAL', 'internal error', request.url.slice(0, 200));
}

/** Malformed HTTP (before any routing): answered in problem+json on the raw socket, then closed. */
function clientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (!socket.writable) return;
  let status = 400;
  let code = 'HTTP_MALFORMED';
  let detail = 'malformed HTTP request';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const firstLineEnd = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.indexOf('\r\n') : -1;
    const lineTooLong = firstLineEnd === -1 || firstLineEnd > MAX_REQUEST_LINE;
    [status, code, detail] = lineTooLong ? [414, 'URI_TOO_LONG', 'the request URI is too long'] : [431, 'HEADERS_TOO_LARGE', 'the request headers are too large'];
  }
  const body = JSON.stringify(toProblem(new ProblemError(status, code, detail)));
  const reason = status === 414 ? 'URI Too Long' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Accepts `application/json` bodies only (UTF-8, bounded depth): every other media type is 415,
 * so no form or text body reaches a handler.
 */
function acceptJsonOnly(fastify: FastifyInstance, bodyLimit: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(request.headers['content-type'] ?? '')?.[2]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new ProblemError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json in UTF-8'), undefined);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(new ProblemError(400, 'BODY_TOO_DEEP', `request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

/**
 * Creates the Nest application on Fastify with tracing (W3C traceparent in, server span per
 * request), request metrics, problem+json errors (also for router and client errors), JSON-only
 * bodies of bounded size and depth, URLs free of NUL and control characters, and graceful
 * shutdown hooks.
 */
export async function createHttpService(
  rootModule: DynamicModule | Type<unknown>,
  options: HttpServiceOptions,
): Promise<NestFastifyApplication> {
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const adapter = new FastifyAdapter({
    bodyLimit,
    trustProxy: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: new NestPinoLogger(options.logger),
    bufferLogs: false,
    // The body parsers are ours (acceptJsonOnly): Nest's would also accept form bodies.
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  acceptJsonOnly(fastify, bodyLimit);
  const routes: RegisteredRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url });
  });
  registeredRoutes.set(app, routes);
  fastify.addHook('onRequest', async (request: FastifyRequest) => {
    const { span, traceparent } = startServerSpan(`${request.method} ${request.routeOptions.url ?? request.url}`, request.headers);
    request.serverSpan = span;
    if (traceparent !== undefined) request.traceparent = traceparent;
    checkRequestUrl(request);
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

/** Starts listening and returns the URL it listens at (the bound port when `port` was 0). */
export async function listenHttp(app: NestFastifyApplication, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.getHttpServer().address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return `http://${host}:${bound}`;
}

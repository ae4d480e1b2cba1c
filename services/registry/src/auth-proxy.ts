// The registry's front door for the auth service's routes: tpctl talks to one URL.
import { Readable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { INFRASTRUCTURE_RETRY_AFTER_SECONDS, ProblemError, toProblem } from '@trustplane/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** Routes served by services/auth (the parameter names match the registry's own routes). */
export const AUTH_ROUTES = [
  '/api/v1/trust-domains/:td/deployments/:id/keys',
  '/api/v1/trust-domains/:td/deployments/:id/keys/*',
  '/api/v1/auth/*',
  '/api/v1/audit',
  '/api/v1/audit/*',
] as const;

/** Request headers passed on (the body's length is not: the body is streamed). */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'idempotency-key', 'content-type', 'accept', 'x-correlation-id', 'traceparent', 'tracestate'];
/** Response headers that describe one hop only. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
/** How long a forwarded request may take. */
const FORWARD_TIMEOUT_MS = 30_000;

function sendProblem(reply: FastifyReply, request: FastifyRequest, error: ProblemError, retryAfter?: number): FastifyReply {
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  return reply.status(error.status).header('content-type', 'application/problem+json').send(toProblem(error, request.url.slice(0, 200)));
}

/**
 * Forwards the auth service's routes (deployment keys, the credential exchange and JWKS, the
 * audit chain) to `authUrl`: method, path and query, the body as a stream, the headers that
 * matter (Authorization and Idempotency-Key included), and the answer as it is. The auth
 * service authenticates and authorizes; the registry adds nothing and keeps nothing. Without
 * `authUrl` these routes answer 503 AUTH_SERVICE_NOT_CONFIGURED.
 */
export async function registerAuthProxy(app: NestFastifyApplication, authUrl: string | undefined, logger: Logger): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  await fastify.register(async (scope) => {
    // In this scope only: bodies are not parsed but streamed to the auth service as they come.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      if (authUrl === undefined) {
        return sendProblem(reply, request, new ProblemError(503, 'AUTH_SERVICE_NOT_CONFIGURED', 'this route is served by the auth service, which this registry is not configured to reach (TP_REGISTRY_AUTH_URL)'), INFRASTRUCTURE_RETRY_AFTER_SECONDS);
      }
      const headers = new Headers();
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers.set(name, value);
      }
      const body = request.body instanceof Readable ? (Readable.toWeb(request.body) as ReadableStream<Uint8Array>) : undefined;
      let response: Response;
      try {
        response = await fetch(new URL(request.url, authUrl), {
          method: request.method,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
          ...(body === undefined ? {} : { body, duplex: 'half' as const }),
        } as RequestInit);
      } catch (error) {
        logger.warn({ err: error, route: request.routeOptions.url }, 'the auth service could not be reached');
        return sendProblem(reply, request, new ProblemError(503, 'AUTH_SERVICE_UNAVAILABLE', 'the auth service cannot be reached right now; retry'), INFRASTRUCTURE_RETRY_AFTER_SECONDS);
      }
      void reply.status(response.status);
      response.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) void reply.header(name, value);
      });
      return reply.send(response.body === null ? '' : Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>));
    };
    for (const url of AUTH_ROUTES) scope.all(url, handler);
  });
}

import {
  Catch,
  HttpException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { DOMAIN_ERROR_HTTP_STATUS, DomainError } from '@trustplane/events';
import { ConcurrencyError } from '@trustplane/eventstore';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** One invalid field in a request. */
export interface FieldProblem {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** An error that maps to an RFC 9457 problem document with a stable `code`. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: readonly FieldProblem[],
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** The RFC 9457 body. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly errors?: readonly FieldProblem[];
  readonly [extension: string]: unknown;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Maps any thrown value to a problem document; internals never leak on 5xx. */
export function toProblem(error: unknown, instance?: string): ProblemDocument {
  const make = (status: number, code: string, detail: string, more: Record<string, unknown> = {}): ProblemDocument => ({
    type: `https://trustplane.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(instance === undefined ? {} : { instance }),
    ...more,
  });
  if (error instanceof ProblemError) {
    return make(error.status, error.code, error.message, {
      ...(error.errors === undefined ? {} : { errors: error.errors }),
      ...(error.extra ?? {}),
    });
  }
  if (error instanceof DomainError) {
    return make(DOMAIN_ERROR_HTTP_STATUS[error.kind], error.code, error.message, error.details === undefined ? {} : { ...error.details });
  }
  if (error instanceof ConcurrencyError) {
    return make(409, 'CONCURRENT_MODIFICATION', 'the resource was modified concurrently; retry the request');
  }
  const fastifyCode = (error as { code?: unknown; statusCode?: unknown } | null)?.code;
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return make(413, 'BODY_TOO_LARGE', 'request body exceeds the size limit');
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return make(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
  if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') return make(400, 'BODY_EMPTY', 'request body is empty');
  if (error instanceof SyntaxError || fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return make(400, 'BODY_NOT_JSON', 'request body is not valid JSON');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 400 && /JSON/i.test(error.message)) return make(400, 'BODY_NOT_JSON', 'request body is not valid JSON');
    if (status === 413) return make(413, 'BODY_TOO_LARGE', 'request body exceeds the size limit');
    return make(status, status === 404 ? 'ROUTE_NOT_FOUND' : `HTTP_${status}`, error.message);
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return make(statusCode, `HTTP_${statusCode}`, error instanceof Error ? error.message : 'bad request');
  }
  return make(500, 'INTERNAL', 'internal error');
}

/** Nest filter turning every exception into `application/problem+json`. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(exception, request.url);
    if (problem.status >= 500) this.logger.error({ err: exception, url: request.url }, 'request failed');
    void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
  }
}

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

/** A problem the client may retry after `retryAfterSeconds` (sent as `Retry-After`). */
export class RetryableProblemError extends ProblemError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    extra?: Readonly<Record<string, unknown>>,
  ) {
    super(status, code, message, undefined, extra);
  }
}

/**
 * A write whose events are committed, answered before the read models show it: 202 Accepted
 * with `Location` (when the write created or changed one resource) and `body`. Never an error
 * for the client: the write happened.
 */
export class AcceptedPending extends Error {
  override readonly name = 'AcceptedPending';
  constructor(
    readonly body: Readonly<Record<string, unknown>>,
    readonly location?: string,
  ) {
    super('the write is committed; the read model has not caught up yet');
  }
}

/** How long a client should wait before retrying after an infrastructure failure. */
export const INFRASTRUCTURE_RETRY_AFTER_SECONDS = 2;

/** Errors of the NATS client that mean "the bus or JetStream cannot be reached right now". */
const NATS_UNAVAILABLE_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'NoResponders',
  'NoRespondersError',
  // JetStream answers no one: not enabled, or not ready (e.g. no meta leader after a restart).
  'JetStreamNotEnabled',
  // The event log refused at once: the connection is known to be down.
  'EventLogUnavailableError',
]);
/** SQLSTATE classes (and codes) of PostgreSQL that mean "the database cannot serve right now". */
const PG_UNAVAILABLE_CLASSES: readonly string[] = ['08', '53', '58'];
const PG_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '57014', '40001', '40P01']);
/** Socket-level failures of any client (errno codes). */
const SOCKET_ERRNOS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const PG_CLIENT_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i;

/** A dependency failure that the client should retry: which dependency, and what to say. */
export interface InfrastructureFailure {
  readonly code: 'EVENT_LOG_UNAVAILABLE' | 'MESSAGE_BUS_UNAVAILABLE' | 'DATABASE_UNAVAILABLE' | 'DEPENDENCY_UNAVAILABLE';
  readonly detail: string;
}

function causesOf(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && current !== null && chain.length < 10; current = (current as { cause?: unknown }).cause) {
    chain.push(current);
  }
  return chain;
}

function natsUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (NATS_UNAVAILABLE_NAMES.has(error.name)) return true;
  // JetStream refusals with a 5xx status: insufficient resources, store full, no leader.
  const status = (error as { status?: unknown }).status;
  return error.name === 'JetStreamApiError' && typeof status === 'number' && status >= 500;
}

function postgresUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length === 5 && /^[0-9A-Z]{5}$/.test(code)) {
    return PG_UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) || PG_UNAVAILABLE_CODES.has(code);
  }
  return error instanceof Error && PG_CLIENT_MESSAGES.test(error.message);
}

/**
 * The one edge rule for infrastructure failures: whether `error` (or any of its causes) means a
 * dependency — the event log on JetStream, NATS, PostgreSQL — cannot serve right now, as
 * opposed to a bug. Such failures are answered 503 with `Retry-After`, never 500.
 */
export function infrastructureFailureOf(error: unknown): InfrastructureFailure | undefined {
  const chain = causesOf(error);
  const eventStore = chain.some((e) => e instanceof Error && (e.name === 'EventStoreError' || e.name === 'ConcurrencyError' || e.name === 'EventLogUnavailableError'));
  if (chain.some(natsUnavailable)) {
    return eventStore
      ? { code: 'EVENT_LOG_UNAVAILABLE', detail: 'the event log cannot be reached right now; retry (with the same Idempotency-Key)' }
      : { code: 'MESSAGE_BUS_UNAVAILABLE', detail: 'the message bus cannot be reached right now; retry' };
  }
  if (chain.some(postgresUnavailable)) return { code: 'DATABASE_UNAVAILABLE', detail: 'the database cannot be reached right now; retry' };
  const errno = chain.map((e) => (e as { code?: unknown } | null)?.code).find((c) => typeof c === 'string' && SOCKET_ERRNOS.has(c));
  if (errno !== undefined) return { code: 'DEPENDENCY_UNAVAILABLE', detail: 'a service this request needs cannot be reached right now; retry' };
  return undefined;
}

/** The `Retry-After` (seconds) to send with a problem answer, if any. */
export function retryAfterOf(error: unknown, problem: ProblemDocument): number | undefined {
  if (error instanceof RetryableProblemError) return error.retryAfterSeconds;
  return problem.status === 503 ? INFRASTRUCTURE_RETRY_AFTER_SECONDS : undefined;
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
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
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
    if (status === 415) return make(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    return make(status, status === 404 ? 'ROUTE_NOT_FOUND' : `HTTP_${status}`, error.message);
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return make(statusCode, `HTTP_${statusCode}`, error instanceof Error ? error.message : 'bad request');
  }
  // Defence in depth: text the database cannot hold is refused by the deciders before it gets
  // near a query, but should some escape them it is still the caller's input, not a fault.
  const sqlState = (error as { code?: unknown } | null)?.code;
  if (sqlState === '22021' || sqlState === '22P05') return make(400, 'TEXT_NOT_STORABLE', 'the request holds text that cannot be stored (NUL or invalid UTF-8)');
  const unavailable = infrastructureFailureOf(error);
  if (unavailable !== undefined) return make(503, unavailable.code, unavailable.detail);
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
    if (exception instanceof AcceptedPending) {
      if (exception.location !== undefined) void reply.header('location', exception.location);
      void reply.status(202).header('content-type', 'application/json; charset=utf-8').send(exception.body);
      return;
    }
    const problem = toProblem(exception, request.url);
    if (problem.status === 503) this.logger.warn({ err: exception, url: request.url, code: problem.code }, 'dependency unavailable');
    else if (problem.status >= 500) this.logger.error({ err: exception, url: request.url }, 'request failed');
    const retryAfter = retryAfterOf(exception, problem);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
  }
}

import { uuidv7 } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError, type Clock } from '@trustplane/platform';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './auth/principal.js';

/** The authenticated principal of a request (the guard guarantees one on scoped routes). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new ProblemError(401, 'UNAUTHENTICATED', 'a valid API token is required');
  return request.principal;
}

/** Builds the command metadata for an HTTP request (actor, correlation, trace, time). */
export function commandContextFor(request: FastifyRequest, clock: Clock): CommandContext {
  const principal = principalOf(request);
  const requestId = uuidv7();
  const correlation = request.headers['x-correlation-id'];
  return {
    actor: { kind: 'token', id: principal.tokenId },
    correlationId: typeof correlation === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(correlation) ? correlation : requestId,
    causationId: requestId,
    ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
    now: clock.now(),
  };
}

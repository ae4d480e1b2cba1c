import { uuidv7, type Actor } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import type { Clock } from '@trustplane/platform';
import type { FastifyRequest } from 'fastify';

/** Builds the command metadata for an HTTP request (actor, correlation, trace, time). */
export function commandContextFor(request: FastifyRequest, actor: Actor, clock: Clock): CommandContext {
  const requestId = uuidv7();
  const correlation = request.headers['x-correlation-id'];
  return {
    actor,
    correlationId: typeof correlation === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(correlation) ? correlation : requestId,
    causationId: requestId,
    ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
    now: clock.now(),
  };
}

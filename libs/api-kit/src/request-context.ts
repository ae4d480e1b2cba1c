import { createHash } from 'node:crypto';
import type { ApiScope } from '@trustplane/events';
import { uuidv7 } from '@trustplane/events';
import type { CommandContext } from '@trustplane/eventstore';
import { ProblemError, type Clock } from '@trustplane/platform';
import { derivedResourceId } from '@trustplane/registry-domain';
import { newResourceId, type ResourceId, type ResourceKind } from '@trustplane/spiffe';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './principal.js';

/** The authenticated principal of a request (the guard guarantees one on scoped routes). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new ProblemError(401, 'UNAUTHENTICATED', 'a valid API token is required');
  return request.principal;
}

/** The command metadata of an API request, plus what ties its writes to its Idempotency-Key. */
export interface WriteContext extends CommandContext {
  /**
   * SHA-256 of tenant, Idempotency-Key, method, path and body, when the request carries a key:
   * the ids of the resources it creates derive from it, so a retry of the same request (even
   * after the first one's process died mid-way) addresses the same aggregates.
   */
  readonly idempotencySeed?: string;
  /** Scopes of the calling token. */
  readonly scopes: readonly ApiScope[];
}

/** Fingerprint of a request: a reused key must come with the same method, path and body. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('hex');
}

/** The seed resource ids derive from, for a request with an Idempotency-Key (see {@link WriteContext}). */
export function idempotencySeedOf(tenant: string, key: string, fingerprint: string): string {
  return createHash('sha256').update(`${tenant}\n${key}\n${fingerprint}`).digest('hex');
}

/** Builds the command metadata for an HTTP request (actor, correlation, trace, time, idempotency seed). */
export function commandContextFor(request: FastifyRequest, clock: Clock): WriteContext {
  const principal = principalOf(request);
  const requestId = uuidv7();
  const correlation = request.headers['x-correlation-id'];
  const key = request.headers['idempotency-key'];
  return {
    actor: { kind: 'token', id: principal.tokenId },
    correlationId: typeof correlation === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(correlation) ? correlation : requestId,
    causationId: requestId,
    ...(request.traceparent === undefined ? {} : { traceparent: request.traceparent }),
    now: clock.now(),
    scopes: principal.scopes,
    ...(typeof key === 'string' && request.method === 'POST'
      ? { idempotencySeed: idempotencySeedOf(principal.tenant, key, requestFingerprint(request.method, request.url, request.body)) }
      : {}),
  };
}

/**
 * The id of a resource a request creates: derived from its idempotency seed when it has one
 * (`part` tells several resources of one request apart), random otherwise.
 */
export function newIdFor<K extends ResourceKind>(kind: K, context: WriteContext, part = ''): ResourceId<K> {
  return context.idempotencySeed === undefined ? newResourceId(kind) : derivedResourceId(kind, `${context.idempotencySeed}\n${part}`);
}

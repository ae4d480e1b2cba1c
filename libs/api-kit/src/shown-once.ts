import { SetMetadata } from '@nestjs/common';
import { ProblemError } from '@trustplane/platform';

/** Metadata key of the response fields that carry a shown-once secret. */
export const SHOWN_ONCE = 'trustplane:shown-once';

/**
 * Declares the response fields of a route that carry a secret shown once (an API token, a join
 * token, a cluster's private key). Those fields are never stored, not even for idempotent
 * replays: a repeat of the request is answered {@link secretShownOnce}.
 */
export const ShownOnce = (...fields: string[]): MethodDecorator => SetMetadata(SHOWN_ONCE, fields);

/** A response body without its secret fields. */
export function withoutSecrets(body: unknown, fields: readonly string[]): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([key]) => !fields.includes(key)));
}

/**
 * The answer to a repeat of a request that created a shown-once secret: 409 with the resource
 * (without its secret). The secret was in the first response only and is stored nowhere.
 */
export function secretShownOnce(resource: unknown): ProblemError {
  return new ProblemError(
    409,
    'SECRET_SHOWN_ONCE',
    'this request already ran: the resource below was created and its secret was returned once, in the first response; it is not stored and cannot be shown again (revoke or rotate it and create a new one if it was lost)',
    undefined,
    { resource },
  );
}

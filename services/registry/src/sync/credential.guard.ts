import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CLOCK, LOGGER, ProblemError, RetryableProblemError, type Clock } from '@trustplane/platform';
import { parseToken } from '@trustplane/registry-domain';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isAuthClientError, verifyControlPlaneCredential, type CredentialKeyResolver, type VerifiedControlPlaneCredential } from '@trustplane/auth-client';

/** Who a verified control-plane credential speaks for (libs/auth-client's verification result). */
export type ControlPlaneCredential = VerifiedControlPlaneCredential;

/**
 * Injection token of the credentials' verification keys: libs/auth-client's `controlPlaneJwks`
 * of `TP_REGISTRY_AUTH_URL` (cached, refetched on an unknown kid); null when sync is not configured.
 */
export const CREDENTIAL_KEYS = Symbol('CREDENTIAL_KEYS');

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified control-plane credential of a sync request. */
    syncCredential?: ControlPlaneCredential;
  }
}


/**
 * Authenticates the sync routes with a control-plane credential only (Bearer). API tokens are
 * refused here (and credentials are refused by the API token guard everywhere else).
 */
@Injectable()
export class ControlPlaneCredentialGuard implements CanActivate {
  constructor(
    @Inject(CREDENTIAL_KEYS) private readonly keys: CredentialKeyResolver | null,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const unauthenticated = new ProblemError(401, 'UNAUTHENTICATED', 'a valid control-plane credential is required (Authorization: Bearer <credential>)');
    if (header === undefined || !header.startsWith('Bearer ')) throw unauthenticated;
    const token = header.slice('Bearer '.length).trim();
    if (parseToken(token) !== undefined) throw new ProblemError(401, 'API_TOKEN_NOT_ACCEPTED', 'the sync API accepts only control-plane credentials, not API tokens');
    if (this.keys === null) {
      throw new RetryableProblemError(503, 'SYNC_NOT_CONFIGURED', 'the sync API is not configured on this registry (TP_REGISTRY_AUTH_URL)', 30);
    }
    try {
      request.syncCredential = await verifyControlPlaneCredential(token, this.keys, { now: this.clock.now() });
    } catch (error) {
      if (isAuthClientError(error, 'CREDENTIAL_KEYS_UNAVAILABLE')) {
        this.logger.warn({ err: error.cause ?? error }, 'control-plane credential keys unavailable');
        throw new RetryableProblemError(503, 'CREDENTIAL_UNVERIFIABLE', 'the credential cannot be verified right now; retry', 5);
      }
      // The code says why (expired, unknown key, bad signature, …); nothing else about the keys.
      if (isAuthClientError(error)) throw new ProblemError(401, error.code, error.message);
      throw error;
    }
    return true;
  }
}

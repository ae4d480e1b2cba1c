import { fetchControlPlaneCredential, signDeploymentAssertion, AuthClientError } from '@trustplane/auth-client';
import type { Clock } from '@trustplane/platform';

/** A control-plane credential and when it runs out. */
export interface HeldCredential {
  readonly credential: string;
  readonly expiresAt: Date;
}

/** Where the self-hosted signer gets its control-plane credential from. */
export interface CredentialSource {
  /** A credential valid for a while yet (exchanged anew when the held one is near its end or `fresh`). */
  current(fresh?: boolean): Promise<HeldCredential>;
}

/** Assertions live this long (the contract allows ≤ 300 s). */
const ASSERTION_TTL_SECONDS = 120;

/**
 * The credential exchange of ISSUE12-DESIGN, done with libs/auth-client: the deployment key signs
 * a short-lived assertion and `POST {controlPlane}/api/v1/auth/deployment-credentials` returns a
 * credential (≤ 24 h). What stays here is only the renewal policy: a new credential once less than
 * a fifth of the held one's lifetime (at most a minute) is left. The private key stays in this
 * process; only the assertion leaves it. A refusal (disabled key, …) throws the library's
 * AuthClientError (EXCHANGE_REFUSED with the server's status and code); the sync client retries.
 */
export class AssertionExchange implements CredentialSource {
  private held: HeldCredential | undefined;
  private lifetimeMs = 0;

  constructor(
    private readonly options: {
      readonly controlPlaneUrl: string;
      readonly deploymentId: string;
      readonly keyId: string;
      readonly privateKeyPem: string;
      readonly clock: Clock;
    },
  ) {
    // Fails at startup (typed ASSERTION_INPUT_INVALID) on a key that is not Ed25519 or malformed ids.
    signDeploymentAssertion({ privateKeyPem: options.privateKeyPem, keyId: options.keyId, deploymentId: options.deploymentId });
  }

  async current(fresh = false): Promise<HeldCredential> {
    const now = this.options.clock.now();
    if (!fresh && this.held !== undefined && this.held.expiresAt.getTime() - now.getTime() > Math.min(60_000, this.lifetimeMs / 5)) return this.held;
    const issued = await fetchControlPlaneCredential(this.options.controlPlaneUrl, {
      privateKeyPem: this.options.privateKeyPem,
      keyId: this.options.keyId,
      deploymentId: this.options.deploymentId,
      ttlSeconds: ASSERTION_TTL_SECONDS,
      now,
    });
    if (issued.deploymentId !== this.options.deploymentId) {
      throw new AuthClientError('EXCHANGE_FAILED', `the exchange answered a credential for ${issued.deploymentId}, not ${this.options.deploymentId}`);
    }
    this.held = { credential: issued.credential, expiresAt: issued.expiresAt };
    this.lifetimeMs = Math.max(0, issued.expiresAt.getTime() - now.getTime());
    return this.held;
  }
}

/** `url` with a trailing slash, so relative paths resolve below it. */
export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

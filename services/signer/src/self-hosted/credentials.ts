import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
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

/** A refused or failed exchange (the signer retries with backoff; a disabled key keeps failing). */
export class CredentialExchangeError extends Error {
  override readonly name = 'CredentialExchangeError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Audience of deployment assertions (the contract's). */
const CONTROL_PLANE = 'trustplane-control-plane';
/** Assertions live this long (the contract allows ≤ 300 s). */
const ASSERTION_TTL_SECONDS = 120;

/**
 * The credential exchange of ISSUE12-DESIGN: the deployment key signs a short-lived EdDSA
 * assertion (kid = key id, iss = sub = deployment, aud = the control plane, single-use jti) and
 * `POST {controlPlane}/api/v1/auth/deployment-credentials` returns a credential (≤ 24 h). The
 * private key stays in this process; only the assertion leaves it.
 */
export class AssertionExchange implements CredentialSource {
  private held: HeldCredential | undefined;
  private lifetimeMs = 0;
  private readonly key: KeyObject;

  constructor(
    private readonly options: {
      readonly controlPlaneUrl: string;
      readonly deploymentId: string;
      readonly keyId: string;
      readonly privateKeyPem: string;
      readonly clock: Clock;
    },
  ) {
    this.key = createPrivateKey(options.privateKeyPem);
    if (this.key.asymmetricKeyType !== 'ed25519') throw new Error('the deployment key must be an Ed25519 private key');
  }

  async current(fresh = false): Promise<HeldCredential> {
    const now = this.options.clock.now().getTime();
    // Renew once less than a fifth of the lifetime (at most a minute) is left.
    if (!fresh && this.held !== undefined && this.held.expiresAt.getTime() - now > Math.min(60_000, this.lifetimeMs / 5)) return this.held;
    const iat = Math.floor(now / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: this.options.keyId, typ: 'JWT' })
      .setIssuer(this.options.deploymentId)
      .setSubject(this.options.deploymentId)
      .setAudience(CONTROL_PLANE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(this.key);
    const response = await fetch(new URL('api/v1/auth/deployment-credentials', withSlash(this.options.controlPlaneUrl)), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assertion }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json().catch(() => ({}))) as { credential?: unknown; expiresAt?: unknown; code?: unknown; detail?: unknown };
    if (response.status !== 200 || typeof body.credential !== 'string' || typeof body.expiresAt !== 'string') {
      throw new CredentialExchangeError(response.status, typeof body.code === 'string' ? body.code : 'EXCHANGE_FAILED', `credential exchange answered ${response.status}`);
    }
    this.held = { credential: body.credential, expiresAt: new Date(body.expiresAt) };
    this.lifetimeMs = Math.max(0, this.held.expiresAt.getTime() - now);
    return this.held;
  }
}

/** `url` with a trailing slash, so relative paths resolve below it. */
export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

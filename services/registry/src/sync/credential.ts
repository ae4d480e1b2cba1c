import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/**
 * The control-plane credential a self-hosted signer presents on the sync routes (issued by
 * services/auth for a deployment key): a JWT (ES256 or EdDSA, `kid` set) with iss = aud =
 * `trustplane-control-plane`, sub = deployment, org, td, key, iat, exp ≤ 24 h, jti.
 *
 * A thin local port: libs/auth-client's `verifyControlPlaneCredential` implements the same
 * contract and replaces {@link JwksCredentialVerifier} once it is merged.
 */
export interface ControlPlaneCredential {
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly organizationId: string;
  readonly keyId: string;
  readonly expiresAt: Date;
}

/** Verifies a control-plane credential; throws {@link CredentialError} on any failure. */
export interface ControlPlaneCredentialVerifier {
  verify(token: string, now: Date): Promise<ControlPlaneCredential>;
}

/** Stable codes of a refused credential. */
export type CredentialErrorCode = 'CREDENTIAL_INVALID' | 'CREDENTIAL_EXPIRED' | 'CREDENTIAL_UNVERIFIABLE';

/** A refused control-plane credential (never says more than the code to the caller). */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Issuer and audience of every control-plane credential. */
export const CONTROL_PLANE_AUDIENCE = 'trustplane-control-plane';
/** The longest credential lifetime accepted (exp − iat). */
export const CREDENTIAL_MAX_TTL_SECONDS = 24 * 3600;
const ID = { deployment: /^tdd-[a-z0-9]{10}$/, trustDomain: /^td-[a-z0-9]{10}$/, organization: /^t-[a-z0-9]{10}$/, key: /^tdk-[a-z0-9]{10}$/ };

/** Verifies credentials against a JWKS (services/auth's `GET /api/v1/auth/jwks`; cached, refetched on an unknown kid). */
export class JwksCredentialVerifier implements ControlPlaneCredentialVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(jwksUrl: URL | JWTVerifyGetKey) {
    this.keys = jwksUrl instanceof URL ? createRemoteJWKSet(jwksUrl, { cooldownDuration: 5_000, timeoutDuration: 5_000 }) : jwksUrl;
  }

  async verify(token: string, now: Date): Promise<ControlPlaneCredential> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: CONTROL_PLANE_AUDIENCE,
        audience: CONTROL_PLANE_AUDIENCE,
        algorithms: ['ES256', 'EdDSA'],
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        currentDate: now,
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new CredentialError('CREDENTIAL_EXPIRED', 'the control-plane credential has expired', { cause: error });
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        throw new CredentialError('CREDENTIAL_UNVERIFIABLE', 'the credential verification keys cannot be fetched', { cause: error });
      }
      throw new CredentialError('CREDENTIAL_INVALID', 'the control-plane credential is not valid', { cause: error });
    }
    const claim = (name: string, pattern: RegExp): string => {
      const value = payload[name];
      if (typeof value !== 'string' || !pattern.test(value)) throw new CredentialError('CREDENTIAL_INVALID', `the credential's ${name} claim is missing or malformed`);
      return value;
    };
    const credential = {
      deploymentId: claim('sub', ID.deployment),
      trustDomainId: claim('td', ID.trustDomain),
      organizationId: claim('org', ID.organization),
      keyId: claim('key', ID.key),
      expiresAt: new Date(Number(payload['exp']) * 1000),
    };
    if (Number(payload['exp']) - Number(payload['iat']) > CREDENTIAL_MAX_TTL_SECONDS) {
      throw new CredentialError('CREDENTIAL_INVALID', 'the credential lives longer than 24 hours');
    }
    return credential;
  }
}

import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import {
  CLOCK_SKEW_SECONDS,
  CONTROL_PLANE_AUDIENCE,
  CREDENTIAL_ALGORITHMS,
  CREDENTIAL_MAX_LIFETIME_SECONDS,
  isDeploymentId,
  isDeploymentKeyId,
  isOrganizationId,
  isTrustDomainId,
  JWKS_PATH,
} from './contract.js';
import { AuthClientError } from './errors.js';

/** Finds the verification key of a credential by its header (jose's key resolver shape). */
export type CredentialKeyResolver = JWTVerifyGetKey;

/** Who a verified control-plane credential speaks for. */
export interface VerifiedControlPlaneCredential {
  readonly deploymentId: string;
  readonly trustDomainId: string;
  readonly organizationId: string;
  /** The deployment key (`tdk-…`) whose assertion the credential was exchanged for. */
  readonly keyId: string;
  readonly expiresAt: Date;
}

/**
 * The verification keys of `<authBaseUrl>/api/v1/auth/jwks`, fetched on first use, cached, and
 * fetched again when a credential names an unknown `kid` (at most every 30 s).
 */
export function controlPlaneJwks(authBaseUrl: string, options: { timeoutMs?: number } = {}): CredentialKeyResolver {
  return createRemoteJWKSet(new URL(JWKS_PATH, authBaseUrl), { timeoutDuration: options.timeoutMs ?? 5_000, cooldownDuration: 30_000 });
}

function claimProblem(message: string): AuthClientError {
  return new AuthClientError('CREDENTIAL_MALFORMED', message);
}

/** Maps jose's failures onto this library's codes (the cause is kept). */
function mapJoseError(cause: unknown): AuthClientError {
  if (cause instanceof AuthClientError) return cause;
  if (cause instanceof errors.JWTExpired) return new AuthClientError('CREDENTIAL_EXPIRED', 'the credential has expired', { cause });
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === 'aud' || cause.claim === 'iss') {
      return new AuthClientError('CREDENTIAL_AUDIENCE_INVALID', `the credential's ${cause.claim} is not ${CONTROL_PLANE_AUDIENCE}`, { cause });
    }
    return new AuthClientError('CREDENTIAL_MALFORMED', `the credential's ${cause.claim} claim is invalid`, { cause });
  }
  if (cause instanceof errors.JOSEAlgNotAllowed) return new AuthClientError('CREDENTIAL_ALG_UNSUPPORTED', 'the credential is not signed with ES256 or EdDSA', { cause });
  if (cause instanceof errors.JWKSNoMatchingKey) return new AuthClientError('CREDENTIAL_KEY_UNKNOWN', 'no control-plane key with the credential\'s kid', { cause });
  if (cause instanceof errors.JWSSignatureVerificationFailed) return new AuthClientError('CREDENTIAL_SIGNATURE_INVALID', 'the credential\'s signature does not verify', { cause });
  return new AuthClientError('CREDENTIAL_MALFORMED', 'the credential is not a valid JWT', { cause });
}

/**
 * `keys`, except that a failure to get the key set at all (timeout, refused connection, not a key
 * set) becomes CREDENTIAL_KEYS_UNAVAILABLE: nothing is known about the credential yet, so the
 * caller answers "retry", not "refused". No key with the kid stays CREDENTIAL_KEY_UNKNOWN.
 */
function keysOrUnavailable(keys: CredentialKeyResolver): CredentialKeyResolver {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (cause) {
      if (cause instanceof errors.JWKSNoMatchingKey || cause instanceof errors.JWKSMultipleMatchingKeys) throw cause;
      throw new AuthClientError('CREDENTIAL_KEYS_UNAVAILABLE', 'the control plane\'s credential verification keys cannot be fetched', { cause });
    }
  };
}

/**
 * Verifies a control-plane credential: a compact JWS signed (ES256 or EdDSA, `kid` set) by a key
 * of `keys`, `iss` = `aud` = the control plane, not expired (30 s skew), lifetime ≤ 24 h, and
 * claims `sub` (tdd-…), `org` (t-…), `td` (td-…), `key` (tdk-…), `jti`. Throws a typed
 * {@link AuthClientError} otherwise.
 */
export async function verifyControlPlaneCredential(
  token: string,
  keys: CredentialKeyResolver,
  options: { now?: Date } = {},
): Promise<VerifiedControlPlaneCredential> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw claimProblem('the credential is empty or too long');
  let payload: JWTPayload;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || !(CREDENTIAL_ALGORITHMS as readonly string[]).includes(header.alg)) {
      throw new AuthClientError('CREDENTIAL_ALG_UNSUPPORTED', `credentials are signed with ${CREDENTIAL_ALGORITHMS.join(' or ')}, not ${String(header.alg)}`);
    }
    if (typeof header.kid !== 'string' || header.kid.length === 0) throw claimProblem('the credential has no kid');
    ({ payload } = await jwtVerify(token, keysOrUnavailable(keys), {
      algorithms: [...CREDENTIAL_ALGORITHMS],
      issuer: CONTROL_PLANE_AUDIENCE,
      audience: CONTROL_PLANE_AUDIENCE,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      ...(options.now === undefined ? {} : { currentDate: options.now }),
    }));
  } catch (cause) {
    throw mapJoseError(cause);
  }
  const { sub, org, td, key, iat, exp } = payload as JWTPayload & Record<string, unknown>;
  if (!isDeploymentId(sub)) throw claimProblem('sub is not a deployment id');
  if (!isOrganizationId(org)) throw claimProblem('org is not an organization id');
  if (!isTrustDomainId(td)) throw claimProblem('td is not a trust domain id');
  if (!isDeploymentKeyId(key)) throw claimProblem('key is not a deployment key id');
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > CREDENTIAL_MAX_LIFETIME_SECONDS) {
    throw claimProblem('the credential lives longer than 24 hours');
  }
  return { deploymentId: sub, trustDomainId: td, organizationId: org, keyId: key, expiresAt: new Date(exp * 1000) };
}

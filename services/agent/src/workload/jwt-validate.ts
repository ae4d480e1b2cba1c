/**
 * ValidateJWTSVID on behalf of a workload (SPIFFE Workload API §6.2.3, JWT-SVID §3–4): the
 * token's trust domain (from `sub`) picks the JWT bundle; @trustplane/crypto's validator then
 * checks the `kid`, that `alg` is the one of that key's type, the signature, `sub`, `aud`,
 * `exp` and `iat`.
 */
import { JWT_DEFAULTS, isCryptoError, validateJwtSvid } from '@trustplane/crypto';
import { parseSpiffeId } from '@trustplane/spiffe';
import type { WorkloadMatch, WorkloadView } from './view.js';

/** Why a token was rejected; the message is safe to return to the caller. */
export class JwtValidationError extends Error {
  override readonly name = 'JwtValidationError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A validated token. */
export interface ValidatedJwtSvid {
  /** `sub`. */
  readonly spiffeId: string;
  /** Every claim of the payload. */
  readonly claims: Record<string, unknown>;
}

/**
 * Validates `token` for `audience` with the JWT authorities visible to a caller (own trust
 * domain, plus the federated ones its entries federate with).
 * @throws JwtValidationError
 */
export function validateWorkloadJwt(
  view: WorkloadView,
  match: WorkloadMatch,
  token: string,
  audience: string,
  now: Date,
): ValidatedJwtSvid {
  if (token.length > JWT_DEFAULTS.maxTokenLength) {
    throw new JwtValidationError('JWT_MALFORMED', 'token is too long');
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new JwtValidationError('JWT_MALFORMED', 'token is not a JWS compact serialization');
  }
  // Read (unverified) `sub` only to choose the bundle; nothing is trusted before the signature checks.
  const unverified = decodePayload(parts[1] ?? '');
  const sub = unverified.sub;
  if (typeof sub !== 'string')
    throw new JwtValidationError('JWT_BAD_CLAIMS', 'token has no sub claim');
  const id = parseSpiffeId(sub);
  if (!id.ok) throw new JwtValidationError('JWT_BAD_CLAIMS', 'sub is not a SPIFFE ID');
  const authorities = view.jwtAuthoritiesFor(match, id.value.trustDomain);
  if (authorities.length === 0) {
    throw new JwtValidationError(
      'JWT_NO_BUNDLE',
      `no JWT bundle for trust domain "${id.value.trustDomain}"`,
    );
  }
  try {
    const claims = validateJwtSvid(token, { authorities, audience, now });
    return { spiffeId: claims.spiffeId, claims: unverified };
  } catch (error) {
    if (isCryptoError(error)) {
      throw new JwtValidationError(error.code, `token is invalid: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function decodePayload(part: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) {
    throw new JwtValidationError('JWT_MALFORMED', 'payload is not base64url');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new JwtValidationError('JWT_MALFORMED', 'payload is not JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtValidationError('JWT_MALFORMED', 'payload is not a JSON object');
  }
  return value as Record<string, unknown>;
}

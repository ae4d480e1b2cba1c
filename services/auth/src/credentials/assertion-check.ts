import { verify, type KeyObject } from 'node:crypto';
import { ASSERTION_MAX_LIFETIME_SECONDS, CLOCK_SKEW_SECONDS, CONTROL_PLANE_AUDIENCE, isDeploymentKeyId } from '@trustplane/auth-client';

/** Why an assertion is refused: one stable code each (answered 401 with that code). */
export type AssertionProblemCode =
  | 'ASSERTION_MALFORMED'
  | 'ASSERTION_ALG_UNSUPPORTED'
  | 'DEPLOYMENT_KEY_UNKNOWN'
  | 'DEPLOYMENT_KEY_DISABLED'
  | 'ASSERTION_SIGNATURE_INVALID'
  | 'ASSERTION_DEPLOYMENT_MISMATCH'
  | 'ASSERTION_AUDIENCE_INVALID'
  | 'ASSERTION_LIFETIME_INVALID'
  | 'ASSERTION_EXPIRED'
  | 'ASSERTION_NOT_YET_VALID'
  | 'ASSERTION_REPLAYED';

/** A refused assertion. */
export class AssertionProblem extends Error {
  override readonly name = 'AssertionProblem';
  constructor(
    readonly code: AssertionProblemCode,
    message: string,
  ) {
    super(message);
  }
}

/** The parts of a compact JWS that decode, before anything is trusted. */
export interface DecodedAssertion {
  readonly keyId: string;
  readonly signingInput: string;
  readonly signature: Buffer;
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The claims of a verified assertion. */
export interface AssertionClaims {
  readonly deploymentId: string;
  readonly jti: string;
  readonly expiresAt: Date;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const MAX_ASSERTION_LENGTH = 4096;

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new AssertionProblem('ASSERTION_MALFORMED', `the assertion's ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AssertionProblem('ASSERTION_MALFORMED', `the assertion's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes an assertion: three base64url segments, header `{alg: "EdDSA", kid: "tdk-…"}`
 * (typ JWT when present, no `crit`), claims an object, a 64-byte Ed25519 signature. Nothing here
 * is trusted yet: only the `kid` is used, to find the key.
 */
export function decodeAssertion(assertion: string): DecodedAssertion {
  if (assertion.length > MAX_ASSERTION_LENGTH) throw new AssertionProblem('ASSERTION_MALFORMED', `an assertion is at most ${MAX_ASSERTION_LENGTH} characters`);
  const parts = assertion.split('.');
  if (parts.length !== 3 || parts.some((part) => !SEGMENT.test(part))) {
    throw new AssertionProblem('ASSERTION_MALFORMED', 'the assertion is not a compact JWS (three base64url segments)');
  }
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart, 'header');
  if (header['alg'] !== 'EdDSA') throw new AssertionProblem('ASSERTION_ALG_UNSUPPORTED', `assertions are signed with EdDSA (Ed25519), not ${String(header['alg']).slice(0, 20)}`);
  if (header['typ'] !== undefined && header['typ'] !== 'JWT') throw new AssertionProblem('ASSERTION_MALFORMED', 'the assertion header typ must be JWT');
  if (header['crit'] !== undefined) throw new AssertionProblem('ASSERTION_MALFORMED', 'the assertion header must not carry crit');
  if (!isDeploymentKeyId(header['kid'])) throw new AssertionProblem('ASSERTION_MALFORMED', 'the assertion header kid must be a deployment key id (tdk-…)');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== 64) throw new AssertionProblem('ASSERTION_SIGNATURE_INVALID', 'an Ed25519 signature is 64 bytes');
  return { keyId: header['kid'], signingInput: `${headerPart}.${claimsPart}`, signature, claims: decodeJson(claimsPart, 'claims') };
}

/**
 * Checks a decoded assertion against the key it names: the signature (first: nothing about the
 * key is revealed to someone who cannot sign with it), then `iss` = `sub` = the key's
 * deployment, `aud` the control plane, `exp − iat` ≤ 300 s, not expired and not issued in the
 * future (30 s skew each), and a `jti`.
 */
export function checkAssertion(decoded: DecodedAssertion, key: { publicKey: KeyObject; deploymentId: string }, now: Date): AssertionClaims {
  if (!verify(null, Buffer.from(decoded.signingInput, 'ascii'), key.publicKey, decoded.signature)) {
    throw new AssertionProblem('ASSERTION_SIGNATURE_INVALID', 'the assertion signature does not verify with the deployment key');
  }
  const { iss, sub, aud, iat, exp, jti } = decoded.claims;
  if (iss !== key.deploymentId || sub !== key.deploymentId) {
    throw new AssertionProblem('ASSERTION_DEPLOYMENT_MISMATCH', 'iss and sub must be the deployment the key belongs to');
  }
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (audiences.length !== 1 || audiences[0] !== CONTROL_PLANE_AUDIENCE) {
    throw new AssertionProblem('ASSERTION_AUDIENCE_INVALID', `aud must be ${CONTROL_PLANE_AUDIENCE}`);
  }
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new AssertionProblem('ASSERTION_MALFORMED', 'iat and exp must be integers (seconds)');
  const issuedAt = iat as number;
  const expires = exp as number;
  if (expires <= issuedAt || expires - issuedAt > ASSERTION_MAX_LIFETIME_SECONDS) {
    throw new AssertionProblem('ASSERTION_LIFETIME_INVALID', `an assertion lives at most ${ASSERTION_MAX_LIFETIME_SECONDS} s (exp − iat)`);
  }
  const nowSeconds = now.getTime() / 1000;
  if (nowSeconds > expires + CLOCK_SKEW_SECONDS) throw new AssertionProblem('ASSERTION_EXPIRED', 'the assertion has expired; sign a fresh one');
  if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS) throw new AssertionProblem('ASSERTION_NOT_YET_VALID', 'the assertion is issued in the future (check the clock)');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new AssertionProblem('ASSERTION_MALFORMED', 'jti must be a string of 1–128 characters');
  return { deploymentId: key.deploymentId, jti, expiresAt: new Date((expires + CLOCK_SKEW_SECONDS) * 1000) };
}

/**
 * JWT-SVIDs (SPIFFE JWT-SVID specification): JWS compact serialization (RFC 7515 §7.1) signed
 * through a MessageSigner, and a validator that verifies them with `crypto.verify`.
 */
import { verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CryptoError, isCryptoError } from './errors';
import { keyIdOf } from './jwk';
import {
  callSigner,
  ecdsaDerToRaw,
  importPublicKey,
  inspectPublicKey,
  isAuthorityKeyType,
  signatureProfile,
  type AuthorityKeyType,
  type MessageSigner,
  type SignatureProfile,
} from './keys';
import { checkTrustDomain, requireInTrustDomain } from './spiffe-id';
import { epochSeconds } from './ca';

/** Limits of the JWT-SVID profile. */
export const JWT_DEFAULTS = {
  /** Default maximum JWT-SVID lifetime (1 day); the usual TTL is minutes. */
  maxTtlSeconds: 24 * 3600,
  /** Largest token accepted by the validator, in characters. */
  maxTokenLength: 16 * 1024,
  /** Allowed clock skew when checking `iat`, in seconds. */
  clockSkewSeconds: 60,
} as const;

/** How to describe a JWT signing key. */
export interface JwtAuthorityOptions {
  /** Trust domain whose SPIFFE IDs this key signs for. */
  readonly trustDomain: string;
  /** The public key, SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  /** `kid`; default keyIdOf(publicKey). */
  readonly keyId?: string;
  /** When the key leaves the bundle; tokens never expire after it. */
  readonly notAfter?: Date;
  /** Largest TTL a request may ask for; default JWT_DEFAULTS.maxTtlSeconds. */
  readonly maxTtlSeconds?: number;
}

/** A JWT signing key (the public half) and its policy. */
export interface JwtAuthority {
  /** Trust domain the key signs for. */
  readonly trustDomain: string;
  /** `kid` placed in every header. */
  readonly keyId: string;
  /** Key type (decides `alg`). */
  readonly keyType: AuthorityKeyType;
  /** The public key, ready for crypto.verify. */
  readonly publicKey: KeyObject;
  /** The public key, SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** Tokens never expire after this, when set. */
  readonly notAfter?: Date;
  /** Largest TTL a request may ask for. */
  readonly maxTtlSeconds: number;
}

/** Builds a JwtAuthority from a public key (checks the key type). */
export function createJwtAuthority(options: JwtAuthorityOptions): JwtAuthority {
  const trustDomain = checkTrustDomain(options.trustDomain);
  const info = inspectPublicKey(options.publicKey);
  if (!isAuthorityKeyType(info.keyType)) {
    throw new CryptoError('UNSUPPORTED_KEY_TYPE', `${info.keyType} cannot sign JWT-SVIDs`);
  }
  const maxTtlSeconds = options.maxTtlSeconds ?? JWT_DEFAULTS.maxTtlSeconds;
  if (!Number.isSafeInteger(maxTtlSeconds) || maxTtlSeconds <= 0) {
    throw new CryptoError('INVALID_OPTIONS', 'maxTtlSeconds must be a positive integer');
  }
  const keyId = options.keyId ?? keyIdOf(info.spki);
  if (keyId.length === 0) throw new CryptoError('INVALID_PUBLIC_KEY', 'kid must not be empty');
  return Object.freeze({
    trustDomain,
    keyId,
    keyType: info.keyType,
    publicKey: importPublicKey(info),
    spki: info.spki,
    maxTtlSeconds,
    ...(options.notAfter ? { notAfter: options.notAfter } : {}),
  });
}

/** A JWT-SVID request. */
export interface JwtSvidRequest {
  /** The subject SPIFFE ID (`sub`), in the authority's trust domain. */
  readonly spiffeId: string;
  /** Audiences (`aud`), at least one. */
  readonly audience: readonly string[];
  /** Lifetime in seconds. */
  readonly ttlSeconds: number;
  /** Issuance time (`iat`), injected clock. */
  readonly now: Date;
}

/** A minted JWT-SVID. */
export interface JwtSvid {
  /** The JWS compact serialization. */
  readonly token: string;
  /** `sub`. */
  readonly spiffeId: string;
  /** `aud`. */
  readonly audience: readonly string[];
  /** `iat`. */
  readonly issuedAt: Date;
  /** `exp`. */
  readonly expiresAt: Date;
  /** `kid`. */
  readonly keyId: string;
}

function b64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/**
 * Mints a JWT-SVID: header `{alg, kid, typ: 'JWT'}` (alg ES256 / ES384 / RS256 from the key
 * type), claims `sub`, `aud` (a string for one audience, else an array), `exp`, `iat`. The ECDSA
 * DER signature from the signer is converted to r‖s (RFC 7518 §3.4). The token is validated
 * before it is returned. Bad input throws before the signer is called.
 */
export async function mintJwtSvid(
  authority: JwtAuthority,
  request: JwtSvidRequest,
  signer: MessageSigner,
  options: { readonly verifySignature?: boolean } = {},
): Promise<JwtSvid> {
  requireInTrustDomain(request.spiffeId, authority.trustDomain);
  const audience = [...request.audience];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
    throw new CryptoError('AUDIENCE_REQUIRED', 'a JWT-SVID needs at least one non-empty audience');
  }
  const ttl = request.ttlSeconds;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new CryptoError('INVALID_TTL', 'ttlSeconds must be a positive integer');
  }
  if (ttl > authority.maxTtlSeconds) {
    throw new CryptoError('TTL_TOO_LONG', `ttl ${ttl}s exceeds ${authority.maxTtlSeconds}s`);
  }
  const iat = epochSeconds(request.now, 'now');
  let exp = iat + ttl;
  if (authority.notAfter) {
    const keyEnd = epochSeconds(authority.notAfter, 'notAfter');
    if (keyEnd <= iat) throw new CryptoError('CA_NOT_VALID_AT_TIME', 'the JWT key has expired');
    exp = Math.min(exp, keyEnd);
  }
  const profile = signatureProfile(authority.keyType);
  const header = b64url({ alg: profile.jwsAlg, kid: authority.keyId, typ: 'JWT' });
  const claims = b64url({
    sub: request.spiffeId,
    aud: audience.length === 1 ? audience[0] : audience,
    exp,
    iat,
  });
  const signingInput = `${header}.${claims}`;
  const der = await callSigner(signer, profile, Buffer.from(signingInput, 'ascii'));
  const sig = profile.ecCoordinateSize > 0 ? ecdsaDerToRaw(der, profile.ecCoordinateSize) : der;
  const token = `${signingInput}.${sig.toString('base64url')}`;
  try {
    if (options.verifySignature ?? true) {
      validateJwtSvid(token, {
        authorities: [authority],
        audience: audience[0]!,
        now: request.now,
        spiffeId: request.spiffeId,
      });
    } else {
      checkJwtShape(token, profile.jwsAlg, authority.keyId, request.spiffeId, exp, sig.length);
    }
  } catch (err) {
    // A signature that does not verify means the signer used another key or misbehaved.
    if (isCryptoError(err, 'JWT_BAD_SIGNATURE')) {
      throw new CryptoError('SIGNER_FAILED', 'the JWT-SVID signature does not verify', {
        cause: err,
      });
    }
    // Anything else means the builder produced something off-profile: an internal fault.
    throw new CryptoError('OUTPUT_VALIDATION_FAILED', 'the minted JWT-SVID failed validation', {
      cause: err,
    });
  }
  return {
    token,
    spiffeId: request.spiffeId,
    audience,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    keyId: authority.keyId,
  };
}

/** What a JWT-SVID must satisfy. */
export interface JwtSvidExpectations {
  /** Keys that may have signed it (looked up by `kid`). */
  readonly authorities: readonly JwtAuthority[];
  /** The audience the relying party expects in `aud`. */
  readonly audience: string;
  /** Validation time. */
  readonly now: Date;
  /** When given, `sub` must equal this SPIFFE ID. */
  readonly spiffeId?: string;
}

/** The validated claims of a JWT-SVID. */
export interface JwtSvidClaims {
  /** `sub`. */
  readonly spiffeId: string;
  /** `aud` as a list. */
  readonly audience: readonly string[];
  /** `iat`, when present. */
  readonly issuedAt?: Date;
  /** `exp`. */
  readonly expiresAt: Date;
  /** `kid` of the verifying key. */
  readonly keyId: string;
}

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  if (!B64URL_RE.test(part)) throw new CryptoError('JWT_MALFORMED', `${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    throw new CryptoError('JWT_MALFORMED', `${what} is not JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CryptoError('JWT_MALFORMED', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function verifyJws(profile: SignatureProfile, key: KeyObject, input: string, sig: Buffer): boolean {
  try {
    if (profile.ecCoordinateSize > 0) {
      if (sig.length !== 2 * profile.ecCoordinateSize) return false;
      return nodeVerify(
        profile.hash,
        Buffer.from(input, 'ascii'),
        { key, dsaEncoding: 'ieee-p1363' },
        sig,
      );
    }
    return nodeVerify(profile.hash, Buffer.from(input, 'ascii'), key, sig);
  } catch {
    return false;
  }
}

/**
 * Validates a JWT-SVID (SPIFFE JWT-SVID §3–4): JWS compact form; header `alg` matching the
 * key type of the `kid`'s authority, `typ` absent or JWT/JOSE, no `crit`; signature verifies;
 * `sub` a SPIFFE ID in that authority's trust domain; `aud` contains the expected audience;
 * `exp` in the future; `iat` (if present) not in the future beyond skew.
 */
export function validateJwtSvid(token: string, expect: JwtSvidExpectations): JwtSvidClaims {
  if (typeof token !== 'string' || token.length > JWT_DEFAULTS.maxTokenLength) {
    throw new CryptoError('JWT_MALFORMED', 'token missing or too long');
  }
  const parts = token.split('.');
  if (parts.length !== 3) throw new CryptoError('JWT_MALFORMED', 'not a JWS compact serialization');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonPart(h, 'header');
  if (typeof header.kid !== 'string') throw new CryptoError('JWT_BAD_HEADER', 'kid is required');
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    throw new CryptoError('JWT_BAD_HEADER', 'typ must be JWT or JOSE');
  }
  if (header.crit !== undefined) throw new CryptoError('JWT_BAD_HEADER', 'crit is not supported');
  const authority = expect.authorities.find((a) => a.keyId === header.kid);
  if (!authority) throw new CryptoError('JWT_UNKNOWN_KEY', `no key with kid ${String(header.kid)}`);
  const profile = signatureProfile(authority.keyType);
  if (header.alg !== profile.jwsAlg) {
    throw new CryptoError('JWT_BAD_HEADER', `alg must be ${profile.jwsAlg} for this key`);
  }
  if (!B64URL_RE.test(s)) throw new CryptoError('JWT_MALFORMED', 'signature is not base64url');
  const signature = Buffer.from(s, 'base64url');
  // Unused low bits of the last character would otherwise give one signature many spellings.
  if (signature.toString('base64url') !== s) {
    throw new CryptoError('JWT_MALFORMED', 'signature is not canonical base64url');
  }
  if (!verifyJws(profile, authority.publicKey, `${h}.${p}`, signature)) {
    throw new CryptoError('JWT_BAD_SIGNATURE', 'JWS signature does not verify');
  }
  const claims = decodeJsonPart(p, 'payload');
  if (typeof claims.sub !== 'string') throw new CryptoError('JWT_BAD_CLAIMS', 'sub is required');
  try {
    requireInTrustDomain(claims.sub, authority.trustDomain);
  } catch (err) {
    throw new CryptoError('JWT_BAD_CLAIMS', 'sub is not a SPIFFE ID of the key trust domain', {
      cause: err,
    });
  }
  if (expect.spiffeId !== undefined && claims.sub !== expect.spiffeId) {
    throw new CryptoError('SPIFFE_ID_MISMATCH', `sub is not ${expect.spiffeId}`);
  }
  const aud = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === 'string')) {
    throw new CryptoError('JWT_BAD_CLAIMS', 'aud must be a string or a non-empty string array');
  }
  const audience = aud as string[];
  if (!audience.includes(expect.audience)) {
    throw new CryptoError('JWT_AUDIENCE_MISMATCH', `aud does not contain ${expect.audience}`);
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
    throw new CryptoError('JWT_BAD_CLAIMS', 'exp is required');
  }
  const now = epochSeconds(expect.now, 'now');
  if (claims.exp <= now) throw new CryptoError('JWT_EXPIRED', 'token has expired');
  let issuedAt: Date | undefined;
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number' || claims.iat > now + JWT_DEFAULTS.clockSkewSeconds) {
      throw new CryptoError('JWT_BAD_CLAIMS', 'iat is invalid or in the future');
    }
    issuedAt = new Date(claims.iat * 1000);
  }
  return {
    spiffeId: claims.sub,
    audience,
    expiresAt: new Date(claims.exp * 1000),
    keyId: authority.keyId,
    ...(issuedAt ? { issuedAt } : {}),
  };
}

/** Field-by-field check of a freshly minted token, without the signature verification. */
function checkJwtShape(token: string, alg: string, kid: string, sub: string, exp: number, signatureLength: number): void {
  const [headerPart, claimsPart, signaturePart] = token.split('.');
  const header = JSON.parse(Buffer.from(headerPart ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(claimsPart ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const signature = Buffer.from(signaturePart ?? '', 'base64url');
  if (header['alg'] !== alg || header['kid'] !== kid || header['typ'] !== 'JWT') {
    throw new CryptoError('JWT_MALFORMED', 'minted JWT header is off-profile');
  }
  if (claims['sub'] !== sub || claims['exp'] !== exp || typeof claims['iat'] !== 'number' || claims['aud'] === undefined) {
    throw new CryptoError('JWT_MALFORMED', 'minted JWT claims are off-profile');
  }
  if (signature.length !== signatureLength || signature.length === 0) {
    throw new CryptoError('JWT_MALFORMED', 'minted JWT signature has the wrong length');
  }
}

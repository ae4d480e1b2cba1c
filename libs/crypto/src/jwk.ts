/**
 * JSON Web Keys for SPIFFE bundles (SPIFFE Trust Domain and Bundle §4: `use` x509-svid /
 * jwt-svid) and key identifiers / fingerprints (RFC 7517 §4, RFC 7518 §6.2–6.3).
 */
import { createHash } from 'node:crypto';
import { Tag, children, readPositiveInteger, readRoot } from './der';
import { CryptoError } from './errors';
import { parseCertificate } from './certificate';
import { inspectPublicKey, isAuthorityKeyType, type PublicKeyInfo } from './keys';

/** An EC public JWK (RFC 7518 §6.2.1). */
export interface EcPublicJwk {
  /** Key type. */
  readonly kty: 'EC';
  /** Curve. */
  readonly crv: 'P-256' | 'P-384';
  /** x coordinate, base64url. */
  readonly x: string;
  /** y coordinate, base64url. */
  readonly y: string;
  /** Key ID, when set. */
  readonly kid?: string;
}

/** An RSA public JWK (RFC 7518 §6.3.1). */
export interface RsaPublicJwk {
  /** Key type. */
  readonly kty: 'RSA';
  /** Modulus, base64url. */
  readonly n: string;
  /** Public exponent, base64url. */
  readonly e: string;
  /** Key ID, when set. */
  readonly kid?: string;
}

/** A public JWK of a supported key type. */
export type PublicJwk = EcPublicJwk | RsaPublicJwk;

/** An X.509 authority entry of a SPIFFE bundle: `use: x509-svid`, one `x5c` cert, no `kid`. */
export type X509AuthorityJwk = (Omit<EcPublicJwk, 'kid'> | Omit<RsaPublicJwk, 'kid'>) & {
  /** Always `x509-svid`. */
  readonly use: 'x509-svid';
  /** Exactly one certificate: the CA, base64 (not url) DER (RFC 7517 §4.7). */
  readonly x5c: readonly [string];
};

/** A JWT authority entry of a SPIFFE bundle / JWKS: `use: jwt-svid` with `kid`. */
export type JwtAuthorityJwk = PublicJwk & {
  /** Always `jwt-svid`. */
  readonly use: 'jwt-svid';
  /** The key ID placed in JWT-SVID headers. */
  readonly kid: string;
};

/** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER: a stable key fingerprint. */
export function keyFingerprint(spki: Uint8Array): string {
  return createHash('sha256').update(inspectPublicKey(spki).spki).digest('hex');
}

/** Key ID: base64url SHA-256 of the SubjectPublicKeyInfo DER, first 32 characters (192 bits). */
export function keyIdOf(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('base64url').slice(0, 32);
}

function jwkOf(info: PublicKeyInfo): Omit<EcPublicJwk, 'kid'> | Omit<RsaPublicJwk, 'kid'> {
  const p = info.subjectPublicKey;
  if (info.keyType === 'ec-p256' || info.keyType === 'ec-p384') {
    const size = info.keyType === 'ec-p256' ? 32 : 48;
    return {
      kty: 'EC',
      crv: info.keyType === 'ec-p256' ? 'P-256' : 'P-384',
      x: p.subarray(1, 1 + size).toString('base64url'),
      y: p.subarray(1 + size).toString('base64url'),
    };
  }
  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1)
  const [n, e] = children(p, readRoot(p, Tag.SEQUENCE));
  if (!n || !e) throw new CryptoError('INVALID_PUBLIC_KEY', 'bad RSAPublicKey');
  return {
    kty: 'RSA',
    n: readPositiveInteger(p, n).toString('base64url'),
    e: readPositiveInteger(p, e).toString('base64url'),
  };
}

/** The public JWK of a SubjectPublicKeyInfo, with `kid` when given. */
export function publicKeyToJwk(spki: Uint8Array, kid?: string): PublicJwk {
  const jwk = jwkOf(inspectPublicKey(spki));
  return kid === undefined ? jwk : { ...jwk, kid };
}

/** The bundle entry for an X.509 authority (a CA certificate, DER). */
export function x509AuthorityJwk(caCertificate: Uint8Array): X509AuthorityJwk {
  const cert = parseCertificate(caCertificate);
  if (!isAuthorityKeyType(cert.publicKey.keyType)) {
    throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'not an authority key type');
  }
  return {
    ...jwkOf(cert.publicKey),
    use: 'x509-svid',
    x5c: [Buffer.from(cert.der).toString('base64')],
  };
}

/** The bundle / JWKS entry for a JWT authority key. */
export function jwtAuthorityJwk(spki: Uint8Array, kid: string): JwtAuthorityJwk {
  const info = inspectPublicKey(spki);
  if (!isAuthorityKeyType(info.keyType)) {
    throw new CryptoError('UNSUPPORTED_KEY_TYPE', 'not an authority key type');
  }
  return { ...jwkOf(info), use: 'jwt-svid', kid };
}

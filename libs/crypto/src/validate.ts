/**
 * Output validators: every certificate this library produces is checked against its profile
 * before it is returned (template → sign → validate). They use the library's own DER reader
 * and `crypto.verify`, so they are cheap enough to run on every mint.
 *
 * Profiles: SPIFFE X509-SVID specification §4 (SVID and signing certificates) on top of
 * RFC 5280 §4.1–4.2.
 */
import type { KeyObject } from 'node:crypto';
import { parseCertificate, type ParsedCertificate } from './certificate';
import { CryptoError, type CryptoErrorCode } from './errors';
import {
  importPublicKey,
  isAuthorityKeyType,
  subjectKeyIdOf,
  signatureProfile,
  verifySignature,
  type AuthorityKeyType,
} from './keys';
import { KeyUsageBit } from './oids';
import { checkTrustDomain, requireInTrustDomain } from './spiffe-id';

/** A loaded, validated X.509 CA (an "X.509 authority") that SVIDs are issued under. */
export interface X509Authority {
  /** The CA certificate, DER. */
  readonly certificate: Buffer;
  /** Trust domain the CA serves (its URI SAN is `spiffe://<trustDomain>`). */
  readonly trustDomain: string;
  /** The CA key type. */
  readonly keyType: AuthorityKeyType;
  /** The CA subject Name, DER (becomes the issuer of everything it signs). */
  readonly subject: Buffer;
  /** The CA subjectKeyIdentifier (becomes the AKID of everything it signs). */
  readonly subjectKeyId: Buffer;
  /** The CA public key, ready for crypto.verify. */
  readonly publicKey: KeyObject;
  /** The CA SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  /** CA notBefore. */
  readonly notBefore: Date;
  /** CA notAfter; nothing it signs may outlive it. */
  readonly notAfter: Date;
  /** Serial number, lowercase hex. */
  readonly serialNumber: string;
}

/** What a CA certificate must satisfy. */
export interface CaExpectations {
  /** The trust domain the CA must serve. */
  readonly trustDomain: string;
  /** Key to verify the CA's signature with; omitted → the CA must be self-signed. */
  readonly issuerPublicKey?: KeyObject;
  /** When given, the CA must be valid at this time. */
  readonly now?: Date;
}

/** What an X.509-SVID must satisfy. */
export interface X509SvidExpectations {
  /** The issuing CA. */
  readonly authority: X509Authority;
  /** The one SPIFFE ID the SVID must carry (must be in the authority's trust domain). */
  readonly spiffeId: string;
  /** When given, the DNS SANs must be exactly these, in this order. */
  readonly dnsNames?: readonly string[];
  /** When given, the subject key must be exactly this SubjectPublicKeyInfo (DER). */
  readonly publicKey?: Uint8Array;
  /** When given, the SVID must be valid at this time. */
  readonly now?: Date;
}

/** Facts about a validated X.509-SVID. */
export interface X509SvidInfo {
  /** The SPIFFE ID in the URI SAN. */
  readonly spiffeId: string;
  /** DNS SANs, in certificate order. */
  readonly dnsNames: readonly string[];
  /** Serial number, lowercase hex. */
  readonly serialNumber: string;
  /** notBefore. */
  readonly notBefore: Date;
  /** notAfter. */
  readonly notAfter: Date;
  /** subjectKeyIdentifier. */
  readonly subjectKeyId: Buffer;
}

function fail(code: CryptoErrorCode, message: string): never {
  throw new CryptoError(code, message);
}

function checkSignature(cert: ParsedCertificate, key: KeyObject, what: string): void {
  if (!verifySignature(cert.signatureAlgorithm.hash, cert.tbs, key, cert.signature)) {
    fail('CERT_BAD_SIGNATURE', `${what} signature does not verify with the issuer key`);
  }
}

function checkTime(cert: ParsedCertificate, now: Date | undefined, what: string): void {
  if (cert.notAfter <= cert.notBefore)
    fail('CERT_VALIDITY_VIOLATION', `${what}: notAfter ≤ notBefore`);
  if (now) {
    const t = now.getTime() / 1000;
    if (t < cert.notBefore || t > cert.notAfter) {
      fail('CERT_VALIDITY_VIOLATION', `${what} is not valid at ${now.toISOString()}`);
    }
  }
}

/**
 * Validates a CA (signing) certificate against TrustPlane's CA profile and returns it as an
 * X509Authority: v3; basicConstraints critical with cA=true; keyUsage critical with keyCertSign
 * and cRLSign; a subjectKeyIdentifier; exactly one URI SAN equal to `spiffe://<trustDomain>`;
 * an authority key type; signature verifying with `issuerPublicKey` or, if omitted, its own key.
 */
export function validateCaCertificate(der: Uint8Array, expect: CaExpectations): X509Authority {
  const trustDomain = checkTrustDomain(expect.trustDomain);
  const cert = parseCertificate(der);
  const keyType = cert.publicKey.keyType;
  if (!isAuthorityKeyType(keyType)) {
    fail('UNSUPPORTED_KEY_TYPE', `CA key type ${keyType} is not an authority key type`);
  }
  if (!cert.signatureAlgorithmDer.equals(cert.tbsSignatureAlgorithmDer)) {
    fail(
      'CERT_MALFORMED',
      'signature algorithms in TBS and Certificate differ (RFC 5280 §4.1.1.2)',
    );
  }
  if (cert.unknownCritical.length > 0) fail('CERT_PROFILE_VIOLATION', 'unknown critical extension');
  const bc = cert.basicConstraints;
  if (!bc || !bc.critical || !bc.value.cA) {
    fail('CERT_PROFILE_VIOLATION', 'CA needs critical basicConstraints with cA=true');
  }
  const ku = cert.keyUsage;
  if (!ku || !ku.critical) fail('CERT_PROFILE_VIOLATION', 'CA needs a critical keyUsage');
  if (!ku.value.has(KeyUsageBit.keyCertSign) || !ku.value.has(KeyUsageBit.cRLSign)) {
    fail('CERT_PROFILE_VIOLATION', 'CA keyUsage needs keyCertSign and cRLSign');
  }
  if (!cert.subjectKeyId || cert.subjectKeyId.length === 0) {
    fail('CERT_PROFILE_VIOLATION', 'CA needs a subjectKeyIdentifier');
  }
  const san = cert.subjectAltName;
  if (!san || san.value.uris.length !== 1 || san.value.uris[0] !== `spiffe://${trustDomain}`) {
    fail(
      san && san.value.uris.length > 1 ? 'TOO_MANY_URI_SANS' : 'CERT_PROFILE_VIOLATION',
      `CA needs exactly one URI SAN spiffe://${trustDomain}`,
    );
  }
  checkTime(cert, expect.now, 'CA certificate');
  const publicKey = importPublicKey(cert.publicKey);
  if (expect.issuerPublicKey) {
    checkSignature(cert, expect.issuerPublicKey, 'CA certificate');
  } else {
    if (!cert.issuer.equals(cert.subject)) {
      fail('CERT_ISSUER_MISMATCH', 'CA is not self-signed and no issuer key was given');
    }
    if (!cert.signatureAlgorithmDer.equals(signatureProfile(keyType).algorithmIdentifier)) {
      fail('CERT_PROFILE_VIOLATION', `self-signed CA must use the ${keyType} signature algorithm`);
    }
    checkSignature(cert, publicKey, 'CA certificate');
  }
  return Object.freeze({
    certificate: Buffer.from(cert.der),
    trustDomain,
    keyType,
    subject: Buffer.from(cert.subject),
    subjectKeyId: Buffer.from(cert.subjectKeyId),
    publicKey,
    spki: cert.publicKey.spki,
    notBefore: new Date(cert.notBefore * 1000),
    notAfter: new Date(cert.notAfter * 1000),
    serialNumber: cert.serialNumber.toString('hex'),
  });
}

/**
 * The SVID checks on an already parsed certificate; `verify` false skips only crypto.verify.
 * `knownSubjectKeyId`: SHA-1 of the subject key when the caller already computed it for this
 * exact key (the minting path), so it is not hashed twice.
 */
export function checkX509Svid(
  cert: ParsedCertificate,
  expect: X509SvidExpectations,
  verify: boolean,
  knownSubjectKeyId?: Buffer,
): X509SvidInfo {
  const ca = expect.authority;
  requireInTrustDomain(expect.spiffeId, ca.trustDomain);
  const algorithm = signatureProfile(ca.keyType).algorithmIdentifier;
  if (
    !cert.signatureAlgorithmDer.equals(algorithm) ||
    !cert.tbsSignatureAlgorithmDer.equals(algorithm)
  ) {
    fail('CERT_PROFILE_VIOLATION', 'signature algorithm does not match the CA key type');
  }
  if (!cert.issuer.equals(ca.subject)) fail('CERT_ISSUER_MISMATCH', 'issuer is not the CA subject');
  if (!cert.authorityKeyId || !cert.authorityKeyId.equals(ca.subjectKeyId)) {
    fail('CERT_ISSUER_MISMATCH', 'authorityKeyIdentifier is not the CA subjectKeyIdentifier');
  }
  // Serial: positive (checked by the parser) with at least 64 bits (8 octets) of entropy room.
  if (cert.serialNumber.length < 8)
    fail('CERT_PROFILE_VIOLATION', 'serial number shorter than 64 bits');
  checkTime(cert, expect.now, 'X.509-SVID');
  if (cert.notAfter > ca.notAfter.getTime() / 1000) {
    fail('CERT_VALIDITY_VIOLATION', 'X.509-SVID outlives its CA');
  }
  if (cert.unknownCritical.length > 0) fail('CERT_PROFILE_VIOLATION', 'unknown critical extension');
  if (cert.hasNameConstraints) fail('CERT_PROFILE_VIOLATION', 'leaf carries nameConstraints');
  // SPIFFE X509-SVID §4.1: leaf SVIDs MUST set cA=false.
  const bc = cert.basicConstraints;
  if (!bc || bc.value.cA)
    fail('CERT_PROFILE_VIOLATION', 'X.509-SVID needs basicConstraints cA=false');
  // SPIFFE X509-SVID §4.3: digitalSignature set, keyCertSign and cRLSign clear; critical.
  const ku = cert.keyUsage;
  if (!ku || !ku.critical) fail('CERT_PROFILE_VIOLATION', 'X.509-SVID needs a critical keyUsage');
  if (
    !ku.value.has(KeyUsageBit.digitalSignature) ||
    ku.value.has(KeyUsageBit.keyCertSign) ||
    ku.value.has(KeyUsageBit.cRLSign)
  ) {
    fail('CERT_PROFILE_VIOLATION', 'X.509-SVID keyUsage must have digitalSignature and no CA bits');
  }
  const eku = cert.extKeyUsage;
  if (!eku || !eku.value.serverAuth || !eku.value.clientAuth) {
    fail('CERT_PROFILE_VIOLATION', 'X.509-SVID needs EKU serverAuth and clientAuth');
  }
  // SPIFFE X509-SVID §2: exactly one URI SAN, the SPIFFE ID.
  const san = cert.subjectAltName;
  if (!san || san.value.uris.length === 0)
    fail('CERT_PROFILE_VIOLATION', 'X.509-SVID has no URI SAN');
  if (san.value.uris.length > 1) fail('TOO_MANY_URI_SANS', 'X.509-SVID has more than one URI SAN');
  if (san.value.uris[0] !== expect.spiffeId) {
    fail('SPIFFE_ID_MISMATCH', `URI SAN is not ${expect.spiffeId}`);
  }
  if (expect.dnsNames) {
    const got = san.value.dnsNames;
    if (got.length !== expect.dnsNames.length || got.some((d, i) => d !== expect.dnsNames![i])) {
      fail('CERT_PROFILE_VIOLATION', 'DNS SANs differ from the expected ones');
    }
  }
  const skid = cert.subjectKeyId;
  if (!skid || !skid.equals(knownSubjectKeyId ?? subjectKeyIdOf(cert.publicKey))) {
    fail('CERT_PROFILE_VIOLATION', 'subjectKeyIdentifier is not SHA-1 of the subject key');
  }
  if (expect.publicKey && !cert.publicKey.spki.equals(expect.publicKey)) {
    fail('CERT_PROFILE_VIOLATION', 'subject public key differs from the requested key');
  }
  if (verify) checkSignature(cert, ca.publicKey, 'X.509-SVID');
  return {
    spiffeId: expect.spiffeId,
    dnsNames: san.value.dnsNames,
    serialNumber: cert.serialNumber.toString('hex'),
    notBefore: new Date(cert.notBefore * 1000),
    notAfter: new Date(cert.notAfter * 1000),
    subjectKeyId: Buffer.from(skid),
  };
}

/**
 * Validates an X.509-SVID (DER) against TrustPlane's SVID profile: exactly one URI SAN equal to
 * the expected SPIFFE ID (in the CA's trust domain); basicConstraints cA=false; keyUsage critical
 * with digitalSignature and without keyCertSign/cRLSign; EKU serverAuth+clientAuth; issuer and
 * AKID match the CA; notAfter ≤ CA notAfter; SKID = SHA-1 of the key; signature verifies with
 * the CA key. Throws CryptoError with the failing check's code.
 */
export function validateX509Svid(der: Uint8Array, expect: X509SvidExpectations): X509SvidInfo {
  return checkX509Svid(parseCertificate(der), expect, true);
}

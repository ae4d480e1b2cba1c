/**
 * Self-signed X.509 CA certificates for a trust domain (RFC 5280 §4.1, profile per SPIFFE
 * X509-SVID §4 "signing certificates"). The private key never enters this code: the TBS
 * certificate is handed to a MessageSigner.
 */
import {
  Tag,
  bitString,
  constructed,
  explicit,
  sequence,
  smallInteger,
  time,
  unsignedInteger,
} from './der';
import { CryptoError, isCryptoError } from './errors';
import {
  CA_KEY_USAGE,
  basicConstraintsExt,
  keyUsageExt,
  subjectAltNameExt,
  subjectKeyIdExt,
} from './extensions';
import {
  callSigner,
  inspectPublicKey,
  isAuthorityKeyType,
  signatureProfile,
  subjectKeyIdOf,
  type AuthorityKeyType,
  type MessageSigner,
} from './keys';
import { encodeName, type DistinguishedName } from './name';
import { checkTrustDomain } from './spiffe-id';
import { validateCaCertificate, type X509Authority } from './validate';

/** Everything needed to build a self-signed CA certificate. */
export interface CaCertificateRequest {
  /** Trust domain name (no scheme), e.g. `example.org`. */
  readonly trustDomain: string;
  /** The CA public key as SubjectPublicKeyInfo DER (from the KeyManager). */
  readonly publicKey: Uint8Array;
  /** When given, the key must be of this type (guards against a wrong key handle). */
  readonly keyType?: AuthorityKeyType;
  /** 16 random octets for the serial number (see serialFromRandom). */
  readonly serialRandom: Uint8Array;
  /** Start of validity (whole seconds are used; fractions are truncated). */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /**
   * Subject; default {@link defaultCaSubject}: `O=TrustPlane, CN=TrustPlane CA, serialNumber=<serial hex>`,
   * the same size for every trust domain (the trust domain is in the URI SAN).
   */
  readonly subject?: DistinguishedName;
  /** Optional basicConstraints pathLenConstraint. */
  readonly pathLenConstraint?: number;
}

/**
 * Turns 16 random octets into a positive 16-octet serial number (RFC 5280 §4.1.2.2): the top
 * bit is cleared (positive) and the next one set (so DER needs no leading zero and the length is
 * fixed), leaving 126 random bits (≥ 64 required by CA/B BR §7.1).
 */
export function serialFromRandom(random: Uint8Array): Buffer {
  if (random.length !== 16) {
    throw new CryptoError('INVALID_SERIAL', 'serial source must supply exactly 16 octets');
  }
  const serial = Buffer.from(random);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/**
 * The subject of a CA certificate: fixed text and the serial number, never the trust domain
 * name. A trust domain name may be 255 characters, more than a commonName may hold (64, RFC
 * 5280 ub-common-name); the trust domain is the CA's URI SAN `spiffe://<td>` (SPIFFE X509-SVID
 * §4), so every valid name gets a CA. The serial keeps subjects of successive CAs distinct.
 */
export function defaultCaSubject(serial: Uint8Array): DistinguishedName {
  return { organization: 'TrustPlane', commonName: 'TrustPlane CA', serialNumber: Buffer.from(serial).toString('hex') };
}

/** Whole epoch seconds of a Date, refusing invalid dates. */
export function epochSeconds(d: Date, what: string): number {
  const ms = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(ms))
    throw new CryptoError('INVALID_VALIDITY', `${what} is not a valid date`);
  return Math.floor(ms / 1000);
}

/**
 * Builds, signs and validates a self-signed CA certificate:
 * v3; serial from `serialRandom`; signature algorithm from the key type (ecdsa-with-SHA256 for
 * P-256, ecdsa-with-SHA384 for P-384, sha256WithRSAEncryption for RSA-2048); issuer = subject;
 * extensions basicConstraints (critical, cA=true), keyUsage (critical, keyCertSign|cRLSign),
 * subjectKeyIdentifier (SHA-1 of the key) and subjectAltName `spiffe://<trustDomain>`.
 * All input is checked before `signer` is called.
 */
export async function buildCaCertificate(
  request: CaCertificateRequest,
  signer: MessageSigner,
): Promise<X509Authority> {
  const trustDomain = checkTrustDomain(request.trustDomain);
  const key = inspectPublicKey(request.publicKey);
  if (!isAuthorityKeyType(key.keyType)) {
    throw new CryptoError('UNSUPPORTED_KEY_TYPE', `${key.keyType} cannot be a CA key`);
  }
  if (request.keyType !== undefined && request.keyType !== key.keyType) {
    throw new CryptoError(
      isAuthorityKeyType(request.keyType) ? 'INVALID_PUBLIC_KEY' : 'UNSUPPORTED_KEY_TYPE',
      `CA key is ${key.keyType}, expected ${request.keyType}`,
    );
  }
  const profile = signatureProfile(key.keyType);
  const serial = serialFromRandom(request.serialRandom);
  const notBefore = epochSeconds(request.notBefore, 'notBefore');
  const notAfter = epochSeconds(request.notAfter, 'notAfter');
  if (notAfter <= notBefore)
    throw new CryptoError('INVALID_VALIDITY', 'notAfter must be after notBefore');
  let validity: Buffer;
  try {
    validity = sequence(time(notBefore), time(notAfter));
  } catch (err) {
    throw new CryptoError('INVALID_VALIDITY', 'validity not encodable', { cause: err });
  }
  if (
    request.pathLenConstraint !== undefined &&
    (!Number.isSafeInteger(request.pathLenConstraint) || request.pathLenConstraint < 0)
  ) {
    throw new CryptoError('INVALID_VALIDITY', 'pathLenConstraint must be a non-negative integer');
  }
  const name = encodeName(request.subject ?? defaultCaSubject(serial));
  const extensions = sequence(
    basicConstraintsExt(true, request.pathLenConstraint),
    keyUsageExt(CA_KEY_USAGE),
    subjectKeyIdExt(subjectKeyIdOf(key)),
    subjectAltNameExt([`spiffe://${trustDomain}`], []),
  );
  // RFC 5280 §4.1: TBSCertificate, fields in order; version v3 is INTEGER 2 in [0] EXPLICIT.
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    profile.algorithmIdentifier,
    name,
    validity,
    name,
    key.spki,
    explicit(3, extensions),
  );
  const signature = await callSigner(signer, profile, tbs);
  // RFC 5280 §4.1.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  const der = constructed(Tag.SEQUENCE, [tbs, profile.algorithmIdentifier, bitString(signature)]);
  try {
    return validateCaCertificate(der, { trustDomain });
  } catch (err) {
    // A signature that does not verify means the signer used another key or misbehaved.
    if (isCryptoError(err, 'CERT_BAD_SIGNATURE')) {
      throw new CryptoError('SIGNER_FAILED', 'the CA signature does not verify', { cause: err });
    }
    // Anything else means the builder produced something off-profile: an internal fault.
    throw new CryptoError(
      'OUTPUT_VALIDATION_FAILED',
      'the minted CA certificate failed validation',
      {
        cause: err,
      },
    );
  }
}

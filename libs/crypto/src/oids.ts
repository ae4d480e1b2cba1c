/**
 * Object identifiers used by this library, as DER value octets (computed once at load).
 * Each names the RFC that defines it.
 */
import { oidValue } from './der';

/** OID value octets, keyed by a readable name. */
export const OID = {
  // RFC 5480 §2.1.1 / §2.1.1.1 — EC public keys and named curves
  ecPublicKey: oidValue('1.2.840.10045.2.1'),
  secp256r1: oidValue('1.2.840.10045.3.1.7'),
  secp384r1: oidValue('1.3.132.0.34'),
  secp521r1: oidValue('1.3.132.0.35'),
  // RFC 3279 §2.3.1 — RSA public keys
  rsaEncryption: oidValue('1.2.840.113549.1.1.1'),
  // RFC 8410 §3 — EdDSA keys (recognised only to be refused)
  ed25519: oidValue('1.3.101.112'),
  ed448: oidValue('1.3.101.113'),
  // RFC 5758 §3.2 — ECDSA signature algorithms
  ecdsaWithSha256: oidValue('1.2.840.10045.4.3.2'),
  ecdsaWithSha384: oidValue('1.2.840.10045.4.3.3'),
  ecdsaWithSha512: oidValue('1.2.840.10045.4.3.4'),
  // RFC 4055 §5 — RSA PKCS#1 v1.5 signature algorithms
  sha256WithRsa: oidValue('1.2.840.113549.1.1.11'),
  sha384WithRsa: oidValue('1.2.840.113549.1.1.12'),
  sha512WithRsa: oidValue('1.2.840.113549.1.1.13'),
  // RFC 5280 §4.1.2.4 / X.520 — name attributes
  commonName: oidValue('2.5.4.3'),
  serialNumber: oidValue('2.5.4.5'),
  countryName: oidValue('2.5.4.6'),
  organizationName: oidValue('2.5.4.10'),
  organizationalUnitName: oidValue('2.5.4.11'),
  // RFC 5280 §4.2.1 — certificate extensions
  subjectKeyIdentifier: oidValue('2.5.29.14'),
  keyUsage: oidValue('2.5.29.15'),
  subjectAltName: oidValue('2.5.29.17'),
  basicConstraints: oidValue('2.5.29.19'),
  nameConstraints: oidValue('2.5.29.30'),
  authorityKeyIdentifier: oidValue('2.5.29.35'),
  extKeyUsage: oidValue('2.5.29.37'),
  // RFC 5280 §4.2.1.12 — key purposes
  serverAuth: oidValue('1.3.6.1.5.5.7.3.1'),
  clientAuth: oidValue('1.3.6.1.5.5.7.3.2'),
  // RFC 2985 §5.4.2 — PKCS#9 extensionRequest attribute (used in PKCS#10 CSRs)
  extensionRequest: oidValue('1.2.840.113549.1.9.14'),
} as const;

/** KeyUsage named bits (RFC 5280 §4.2.1.3). */
export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;

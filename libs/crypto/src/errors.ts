/**
 * One error class for the whole library, with a stable string code per failure (the code is
 * the contract; messages may change). Causes are chained with `{ cause }`.
 */

/** Every failure this library reports, as a stable string code. */
export type CryptoErrorCode =
  // --- encoding ---
  /** DER input is not well-formed (bad length, trailing bytes, wrong tag, non-minimal form). */
  | 'DER_MALFORMED'
  // --- keys and algorithms ---
  /** The key (or requested key type) is not one this library issues for or with. */
  | 'UNSUPPORTED_KEY_TYPE'
  /** A SubjectPublicKeyInfo is structurally valid DER but not a usable public key. */
  | 'INVALID_PUBLIC_KEY'
  /** A signature algorithm identifier that is not accepted here. */
  | 'UNSUPPORTED_SIGNATURE_ALGORITHM'
  /** The MessageSigner callback failed or returned an unusable signature. */
  | 'SIGNER_FAILED'
  /** A freshly built credential failed its own validator (a builder fault, never bad input). */
  | 'OUTPUT_VALIDATION_FAILED'
  // --- identifiers and request policy ---
  /** A SPIFFE ID that does not follow the SPIFFE-ID specification. */
  | 'INVALID_SPIFFE_ID'
  /** A trust domain name that does not follow the SPIFFE-ID specification. */
  | 'INVALID_TRUST_DOMAIN'
  /** The SPIFFE ID belongs to another trust domain than the issuing CA's. */
  | 'SPIFFE_ID_NOT_IN_TRUST_DOMAIN'
  /** More than one URI SAN was requested or found (an X.509-SVID carries exactly one). */
  | 'TOO_MANY_URI_SANS'
  /** A DNS name SAN that is not a valid host name. */
  | 'INVALID_DNS_NAME'
  /** More DNS names than the request limit. */
  | 'TOO_MANY_DNS_NAMES'
  /** The requested lifetime exceeds the configured maximum. */
  | 'TTL_TOO_LONG'
  /** The requested lifetime is not a positive whole number of seconds. */
  | 'INVALID_TTL'
  /** Validity dates that are not usable (notAfter ≤ notBefore, not encodable, ...). */
  | 'INVALID_VALIDITY'
  /** A serial number that is not 16 random bytes / not a valid positive INTEGER. */
  | 'INVALID_SERIAL'
  /** A subject attribute that cannot be encoded (empty, too long, bad characters). */
  | 'INVALID_NAME'
  /** The issuing CA is expired (or not yet valid) at `now`. */
  | 'CA_NOT_VALID_AT_TIME'
  /** Options given to a template or authority builder are out of range. */
  | 'INVALID_OPTIONS'
  /** The JWT audience list is empty or contains an empty value. */
  | 'AUDIENCE_REQUIRED'
  // --- CSR (PKCS#10) ---
  /** The CSR is not a well-formed PKCS#10 CertificationRequest. */
  | 'CSR_MALFORMED'
  /** The CSR's proof-of-possession signature does not verify with its own key. */
  | 'CSR_BAD_SIGNATURE'
  /** The CSR requests a URI SAN different from the authorized SPIFFE ID. */
  | 'CSR_SPIFFE_ID_MISMATCH'
  /** The CSR requests a DNS name the caller is not authorized for. */
  | 'CSR_DNS_NAME_NOT_ALLOWED'
  // --- output validation (X.509) ---
  /** A certificate is not well-formed or violates RFC 5280 structure rules. */
  | 'CERT_MALFORMED'
  /** A certificate violates the SVID / CA profile (basicConstraints, key usage, EKU, SANs, ...). */
  | 'CERT_PROFILE_VIOLATION'
  /** The certificate's issuer or AKID does not match the expected CA. */
  | 'CERT_ISSUER_MISMATCH'
  /** The certificate outlives its CA or is outside its own validity window. */
  | 'CERT_VALIDITY_VIOLATION'
  /** The certificate signature does not verify with the issuer's public key. */
  | 'CERT_BAD_SIGNATURE'
  /** The certificate's SPIFFE ID is not the expected one. */
  | 'SPIFFE_ID_MISMATCH'
  // --- output validation (JWT) ---
  /** A token that is not a well-formed JWS compact serialization / JWT. */
  | 'JWT_MALFORMED'
  /** The JWT header (alg, typ, kid) is not acceptable. */
  | 'JWT_BAD_HEADER'
  /** No key is known for the token's `kid`. */
  | 'JWT_UNKNOWN_KEY'
  /** The JWS signature does not verify. */
  | 'JWT_BAD_SIGNATURE'
  /** The JWT claims are missing or inconsistent (sub, aud, exp, iat). */
  | 'JWT_BAD_CLAIMS'
  /** The JWT is expired at the validation time. */
  | 'JWT_EXPIRED'
  /** The JWT audience does not contain the expected audience. */
  | 'JWT_AUDIENCE_MISMATCH';

/** The error every function of this library throws for bad input or a failed check. */
export class CryptoError extends Error {
  /** Stable code; match on this, not on the message. */
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/** True when `err` is a CryptoError (optionally with the given code). */
export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}

/** Who is at fault for an error: the caller's input, or this side (signer, builder). */
export type CryptoErrorKind = 'invalid_input' | 'internal';

/**
 * Classifies a code for the edge (problem+json / gRPC status): `internal` for signer and
 * builder faults, `invalid_input` for everything a request or a presented credential caused.
 */
export function cryptoErrorKind(code: CryptoErrorCode): CryptoErrorKind {
  switch (code) {
    case 'SIGNER_FAILED':
    case 'OUTPUT_VALIDATION_FAILED':
    case 'INVALID_OPTIONS':
      return 'internal';
    case 'DER_MALFORMED':
    case 'UNSUPPORTED_KEY_TYPE':
    case 'INVALID_PUBLIC_KEY':
    case 'UNSUPPORTED_SIGNATURE_ALGORITHM':
    case 'INVALID_SPIFFE_ID':
    case 'INVALID_TRUST_DOMAIN':
    case 'SPIFFE_ID_NOT_IN_TRUST_DOMAIN':
    case 'TOO_MANY_URI_SANS':
    case 'INVALID_DNS_NAME':
    case 'TOO_MANY_DNS_NAMES':
    case 'TTL_TOO_LONG':
    case 'INVALID_TTL':
    case 'INVALID_VALIDITY':
    case 'INVALID_SERIAL':
    case 'INVALID_NAME':
    case 'CA_NOT_VALID_AT_TIME':
    case 'AUDIENCE_REQUIRED':
    case 'CSR_MALFORMED':
    case 'CSR_BAD_SIGNATURE':
    case 'CSR_SPIFFE_ID_MISMATCH':
    case 'CSR_DNS_NAME_NOT_ALLOWED':
    case 'CERT_MALFORMED':
    case 'CERT_PROFILE_VIOLATION':
    case 'CERT_ISSUER_MISMATCH':
    case 'CERT_VALIDITY_VIOLATION':
    case 'CERT_BAD_SIGNATURE':
    case 'SPIFFE_ID_MISMATCH':
    case 'JWT_MALFORMED':
    case 'JWT_BAD_HEADER':
    case 'JWT_UNKNOWN_KEY':
    case 'JWT_BAD_SIGNATURE':
    case 'JWT_BAD_CLAIMS':
    case 'JWT_EXPIRED':
    case 'JWT_AUDIENCE_MISMATCH':
      return 'invalid_input';
    default: {
      // Exhaustiveness: adding a code without classifying it fails to compile.
      const unclassified: never = code;
      return unclassified;
    }
  }
}

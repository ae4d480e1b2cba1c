/**
 * @trustplane/crypto — X.509 CA and X.509-SVID building from DER templates, PKCS#10 CSR checks,
 * JWT-SVIDs, JWKs for SPIFFE bundles, and the output validators that run on every credential.
 * Pure: no I/O; private keys stay behind a MessageSigner.
 */

// Errors
export {
  CryptoError,
  cryptoErrorKind,
  isCryptoError,
  type CryptoErrorCode,
  type CryptoErrorKind,
} from './errors';

// Keys and signing contract
export {
  AUTHORITY_KEY_TYPES,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  inspectPublicKey,
  isAuthorityKeyType,
  keyObjectSigner,
  pooledRandomSource,
  spkiOf,
  type AuthorityKeyType,
  type HashAlgorithm,
  type MessageSigner,
  type PublicKeyInfo,
  type SubjectKeyType,
} from './keys';
export type { DistinguishedName } from './name';

// X.509 CA
export { buildCaCertificate, defaultCaSubject, type CaCertificateRequest } from './ca';

// X.509-SVIDs
export {
  SVID_DEFAULTS,
  createX509SvidTemplate,
  mintX509Svid,
  mintX509SvidFromCsr,
  type MintDependencies,
  type X509Svid,
  type X509SvidCsrRequest,
  type X509SvidRequest,
  type X509SvidTemplate,
  type X509SvidTemplateOptions,
} from './svid';

// CSRs
export { MAX_CSR_SIZE, buildCsr, parseCsr, type CsrRequest, type VerifiedCsr } from './csr';

// Validators
export {
  validateCaCertificate,
  validateX509Svid,
  type CaExpectations,
  type X509Authority,
  type X509SvidExpectations,
  type X509SvidInfo,
} from './validate';

// JWT-SVIDs
export {
  JWT_DEFAULTS,
  createJwtAuthority,
  mintJwtSvid,
  validateJwtSvid,
  type JwtAuthority,
  type JwtAuthorityOptions,
  type JwtSvid,
  type JwtSvidClaims,
  type JwtSvidExpectations,
  type JwtSvidRequest,
} from './jwt';

// JWKs for bundles
export {
  jwtAuthorityJwk,
  keyFingerprint,
  keyIdOf,
  publicKeyToJwk,
  x509AuthorityJwk,
  type EcPublicJwk,
  type JwtAuthorityJwk,
  type PublicJwk,
  type RsaPublicJwk,
  type X509AuthorityJwk,
} from './jwk';

// Sampling of the output signature check (see MintDependencies.verifySignature)
export { createSignatureSampler } from './sampling.js';

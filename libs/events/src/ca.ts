import type { EventDefinition } from './envelope.js';

/**
 * Events of the CA context. Aggregate `ca` (id = the trust domain deployment `tdd-…`, tenant =
 * organization) records the keysets of one deployment; aggregate `bundle` (id = trust domain
 * `td-…`) records the published trust bundle of a trust domain.
 *
 * Security invariant 3: these events carry only public material (certificates, public keys,
 * key identifiers) and key HANDLES (KeyManager key ids). Never private key bytes.
 */

/** Key types a CA keyset can use (the KeyManager names). */
export type CaKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** Lifecycle of a keyset: published → signing → retired (or tainted) → out of the bundle. */
export type CaKeysetStatus = 'prepared' | 'active' | 'old' | 'tainted' | 'revoked' | 'dropped';

/** Public half of a keyset's X.509 CA. */
export interface CaX509AuthorityData {
  /** KeyManager key id of the CA private key, e.g. `x509-<keysetId>`. */
  readonly keyHandle: string;
  /** The self-signed CA certificate, DER, base64. */
  readonly certificate: string;
  /** subjectKeyIdentifier of the CA, lowercase hex. */
  readonly subjectKeyId: string;
  /** SubjectPublicKeyInfo of the CA key, DER, base64. */
  readonly publicKey: string;
  /** CA certificate serial number, lowercase hex. */
  readonly serialNumber: string;
}

/** Public half of a keyset's JWT-SVID signing key. */
export interface CaJwtAuthorityData {
  /** KeyManager key id of the JWT signing private key, e.g. `jwt-<keysetId>`. */
  readonly keyHandle: string;
  /** `kid` placed in every JWT-SVID header and in the bundle's `jwt-svid` JWK. */
  readonly keyId: string;
  /** SubjectPublicKeyInfo of the JWT key, DER, base64. */
  readonly publicKey: string;
}

/**
 * A keyset (one X.509 CA + one JWT key) was prepared: it is published in the bundle from now
 * on, but does not sign yet. Validity applies to both keys (JWT-SVIDs never outlive notAfter).
 */
export type CaKeysetPrepared = EventDefinition<
  'ca.keyset_prepared',
  1,
  {
    readonly trustDomainId: string;
    /** Trust domain name (no scheme), the CA's URI SAN. */
    readonly trustDomain: string;
    /** Keyset id, unique within the deployment. */
    readonly keysetId: string;
    readonly keyType: CaKeyType;
    /** CA notBefore, ISO-8601. */
    readonly notBefore: string;
    /** CA notAfter, ISO-8601; nothing the keyset signs outlives it. */
    readonly notAfter: string;
    /** Ceiling of X.509-SVID TTLs this keyset signs (decides when it may leave the bundle). */
    readonly maxX509SvidTtlSeconds: number;
    /** Ceiling of JWT-SVID TTLs this keyset signs. */
    readonly maxJwtSvidTtlSeconds: number;
    /** When it was prepared, ISO-8601. */
    readonly preparedAt: string;
    readonly x509: CaX509AuthorityData;
    readonly jwt: CaJwtAuthorityData;
  }
>;

/** Why a keyset was activated. */
export type CaActivationReason = 'initial' | 'rotation' | 'taint';

/**
 * A prepared keyset became the one that signs. The previously active keyset (if any) became
 * `old` in the same event: it keeps verifying until its last SVID has expired.
 */
export type CaKeysetActivated = EventDefinition<
  'ca.keyset_activated',
  1,
  {
    readonly trustDomainId: string;
    readonly keysetId: string;
    /** The keyset that was active until now (now `old`, or about to be tainted), or null. */
    readonly previousKeysetId: string | null;
    readonly reason: CaActivationReason;
    /** ISO-8601. */
    readonly activatedAt: string;
  }
>;

/**
 * A keyset was tainted (suspected compromise): it never signs again, agents renew what it
 * signed; it stays in the bundle until its SVIDs expire unless it is revoked.
 */
export type CaKeysetTainted = EventDefinition<
  'ca.keyset_tainted',
  1,
  {
    readonly trustDomainId: string;
    readonly keysetId: string;
    /** The status it had before. */
    readonly previousStatus: 'prepared' | 'active' | 'old';
    /** ISO-8601. */
    readonly taintedAt: string;
  }
>;

/** A tainted keyset was revoked: removed from the bundle at once; what it signed stops verifying. */
export type CaKeysetRevoked = EventDefinition<
  'ca.keyset_revoked',
  1,
  { readonly trustDomainId: string; readonly keysetId: string; readonly revokedAt: string }
>;

/** Why a keyset left the bundle. */
export type CaDropReason = 'svids_expired' | 'expired_unused' | 'tainted_unused';

/** A keyset left the bundle because nothing it signed can still be valid; its keys may be released. */
export type CaKeysetDropped = EventDefinition<
  'ca.keyset_dropped',
  1,
  {
    readonly trustDomainId: string;
    readonly keysetId: string;
    readonly reason: CaDropReason;
    /** ISO-8601. */
    readonly droppedAt: string;
  }
>;

/** Every event of the `ca` aggregate. */
export type CaEvent =
  CaKeysetPrepared | CaKeysetActivated | CaKeysetTainted | CaKeysetRevoked | CaKeysetDropped;

/** One key of a SPIFFE bundle (SPIFFE Trust Domain and Bundle §4: a JWK with `use`). */
export interface SpiffeBundleKey {
  readonly kty: 'EC' | 'RSA';
  /** `x509-svid` (one `x5c`, no `kid`) or `jwt-svid` (with `kid`). */
  readonly use: 'x509-svid' | 'jwt-svid';
  readonly kid?: string;
  /** For `x509-svid`: exactly one CA certificate, base64 DER. */
  readonly x5c?: readonly string[];
  readonly crv?: 'P-256' | 'P-384';
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** The SPIFFE bundle document (a JWK Set with the SPIFFE members). */
export interface SpiffeBundleDocument {
  readonly keys: readonly SpiffeBundleKey[];
  /** Increases on every change of the bundle's content. */
  readonly spiffe_sequence: number;
  /** Seconds a consumer should wait before fetching again. */
  readonly spiffe_refresh_hint: number;
}

/** The trust bundle of a trust domain changed (new sequence). */
export type BundleUpdated = EventDefinition<
  'bundle.updated',
  1,
  {
    readonly trustDomainId: string;
    readonly trustDomain: string;
    /** Equal to `document.spiffe_sequence`. */
    readonly sequence: number;
    readonly document: SpiffeBundleDocument;
    /** Which keysets the bundle holds: `<deploymentId>/<keysetId>`, sorted. */
    readonly keysets: readonly string[];
  }
>;

/** Every event of the `bundle` aggregate. */
export type BundleEvent = BundleUpdated;

/** Key types every KeyManager supports (the SPIRE names). */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** All supported key types, in a stable order. */
export const KEY_TYPES: readonly KeyType[] = Object.freeze(['ec-p256', 'ec-p384', 'rsa-2048']);

/** Hash algorithms a signature can be made over. */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** All supported hash algorithms, in a stable order. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = Object.freeze([
  'sha256',
  'sha384',
  'sha512',
]);

/** Digest length in bytes for each hash algorithm. */
export const DIGEST_LENGTH: Readonly<Record<HashAlgorithm, number>> = Object.freeze({
  sha256: 32,
  sha384: 48,
  sha512: 64,
});

/** The public face of a key: everything about it except the private part. */
export interface KeyInfo {
  /** Caller-chosen handle of the key. */
  readonly keyId: string;
  /** Algorithm and size of the key. */
  readonly keyType: KeyType;
  /** SubjectPublicKeyInfo, DER encoded (RFC 5280 §4.1.2.7). */
  readonly publicKeyDer: Uint8Array;
  /** Lowercase hex SHA-256 of publicKeyDer. */
  readonly fingerprint: string;
}

/**
 * Sign a precomputed digest: the contract of ARCHITECTURE.md ("sign(keyId, digest, hashAlg)").
 * The digest length must match the hash algorithm.
 */
export interface DigestSignRequest {
  /** The hash of the data to sign. */
  readonly digest: Uint8Array;
  /** The algorithm that produced `digest`. */
  readonly hashAlgorithm: HashAlgorithm;
}

/**
 * Sign a whole message; the KeyManager hashes it (natively, the fast path for local keys).
 * Produces exactly the signature the digest form produces for hash(message).
 */
export interface MessageSignRequest {
  /** The data to sign (e.g. a TBSCertificate). */
  readonly message: Uint8Array;
  /** The hash algorithm to apply to `message`. */
  readonly hashAlgorithm: HashAlgorithm;
}

/** Either form of sign request. */
export type SignRequest = DigestSignRequest | MessageSignRequest;

/** Health of a KeyManager: false after a backend failure until a call succeeds again. */
export interface KeyManagerHealth {
  /** True when the backend answered the last call (or has no remote backend). */
  readonly ready: boolean;
  /** Code of the last failure that turned ready false, if any. */
  readonly lastErrorCode?: string;
  /** Message of the last failure that turned ready false, if any. */
  readonly lastErrorMessage?: string;
  /** Clock time (ms since epoch) of the last state change. */
  readonly since: number;
}

/**
 * A KeyManager holds private keys and hands out only handles: public keys, fingerprints
 * and signatures cross its boundary, private key bytes never do (STYLE §5).
 */
export interface KeyManager {
  /** Generates a new key under `keyId`. Fails with KEY_EXISTS if the id is taken. */
  create(keyId: string, keyType: KeyType): Promise<KeyInfo>;
  /** Every key this KeyManager holds, sorted by key id. */
  list(): Promise<KeyInfo[]>;
  /** The public part of one key; KEY_NOT_FOUND if unknown. */
  publicKey(keyId: string): Promise<KeyInfo>;
  /**
   * Signs with the key. Returns a DER signature: ECDSA-Sig-Value (RFC 3279 §2.2.3) for EC keys,
   * the PKCS#1 v1.5 signature octets (RFC 8017 §8.2) for RSA keys.
   */
  sign(keyId: string, request: SignRequest): Promise<Uint8Array>;
  /** Destroys the key; KEY_NOT_FOUND if unknown. */
  release(keyId: string): Promise<void>;
  /** Whether the backend is currently usable. */
  ready(): boolean;
  /** Detailed health (ready plus the last failure). */
  health(): KeyManagerHealth;
  /** Releases resources (connections, timers). Keys are kept. */
  close(): Promise<void>;
}

/** Source of the current time, injected so tests control it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** True if the request is the digest form. */
export function isDigestRequest(request: SignRequest): request is DigestSignRequest {
  return (request as Partial<DigestSignRequest>).digest !== undefined;
}

/**
 * Stable error codes of @trustplane/keymanager. Callers branch on `code`, never on the message.
 */
export type KeyManagerErrorCode =
  /** No key with that id in this KeyManager. */
  | 'KEY_NOT_FOUND'
  /** create() for a key id that already exists. */
  | 'KEY_EXISTS'
  /** The key type is not one of ec-p256, ec-p384, rsa-2048 (or a key does not match its declared type). */
  | 'UNSUPPORTED_KEY_TYPE'
  /** The hash algorithm is not one of sha256, sha384, sha512. */
  | 'UNSUPPORTED_HASH_ALGORITHM'
  /** Malformed argument: bad key id, digest length not matching the hash algorithm, … */
  | 'INVALID_ARGUMENT'
  /** A public key's SHA-256 does not match the fingerprint reported for it. */
  | 'FINGERPRINT_MISMATCH'
  /** A signature returned by a backend does not verify under the key's known public key. */
  | 'SIGNATURE_INVALID'
  /** The webhook could not be reached (connection refused, DNS, TLS failure, …). */
  | 'WEBHOOK_UNREACHABLE'
  /** The webhook did not answer within the configured timeout. */
  | 'WEBHOOK_TIMEOUT'
  /** The webhook refused our credentials (401/403). */
  | 'WEBHOOK_UNAUTHORIZED'
  /** The webhook answered with an unexpected status. */
  | 'WEBHOOK_ERROR'
  /** The webhook answered with a body that does not follow the contract. */
  | 'WEBHOOK_PROTOCOL'
  /** A sealed key file failed authentication (tampered, wrong KEK, wrong key id/type binding). */
  | 'SEAL_INVALID'
  /** The key-encryption key file is missing, malformed or has unsafe permissions. */
  | 'KEK_INVALID'
  /** Reading or writing the key store failed. */
  | 'STORE_IO'
  /** The KeyManager configuration is invalid (the message names the key). */
  | 'CONFIG_INVALID'
  /** The key custody child process is not available (dead, restarting, or the call timed out). */
  | 'CUSTODY_UNAVAILABLE'
  /** The custody peer sent a frame that does not follow the protocol. */
  | 'PROTOCOL_ERROR'
  /** The KeyManager was closed. */
  | 'CLOSED'
  /** Unexpected internal failure. */
  | 'INTERNAL';

const CODES: ReadonlySet<string> = new Set<KeyManagerErrorCode>([
  'KEY_NOT_FOUND',
  'KEY_EXISTS',
  'UNSUPPORTED_KEY_TYPE',
  'UNSUPPORTED_HASH_ALGORITHM',
  'INVALID_ARGUMENT',
  'FINGERPRINT_MISMATCH',
  'SIGNATURE_INVALID',
  'WEBHOOK_UNREACHABLE',
  'WEBHOOK_TIMEOUT',
  'WEBHOOK_UNAUTHORIZED',
  'WEBHOOK_ERROR',
  'WEBHOOK_PROTOCOL',
  'SEAL_INVALID',
  'KEK_INVALID',
  'STORE_IO',
  'CONFIG_INVALID',
  'CUSTODY_UNAVAILABLE',
  'PROTOCOL_ERROR',
  'CLOSED',
  'INTERNAL',
]);

/** Failures that say the backend is unhealthy (readiness false), as opposed to a bad request from us. */
export const UNHEALTHY_BACKEND_CODES: ReadonlySet<KeyManagerErrorCode> = new Set<KeyManagerErrorCode>([
  'WEBHOOK_UNREACHABLE',
  'WEBHOOK_TIMEOUT',
  'WEBHOOK_UNAUTHORIZED',
  'WEBHOOK_ERROR',
  'WEBHOOK_PROTOCOL',
  'FINGERPRINT_MISMATCH',
  'SIGNATURE_INVALID',
]);

/** True if `code` is one of the stable KeyManagerErrorCode values. */
export function isKeyManagerErrorCode(code: string): code is KeyManagerErrorCode {
  return CODES.has(code);
}

/** The one error class thrown by every KeyManager in this package. */
export class KeyManagerError extends Error {
  /** Stable code, see KeyManagerErrorCode. */
  readonly code: KeyManagerErrorCode;

  constructor(code: KeyManagerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyManagerError';
    this.code = code;
  }
}

/** True if `err` is a KeyManagerError, optionally with the given code. */
export function isKeyManagerError(
  err: unknown,
  code?: KeyManagerErrorCode,
): err is KeyManagerError {
  return err instanceof KeyManagerError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a KeyManagerError, keeping KeyManagerErrors as they are. */
export function toKeyManagerError(
  err: unknown,
  code: KeyManagerErrorCode,
  message: string,
): KeyManagerError {
  if (err instanceof KeyManagerError) return err;
  return new KeyManagerError(code, message, { cause: err });
}

import { DomainError } from '@trustplane/events';

/** Every refusal of the CA context, as a stable string code (the code is the contract). */
export type CaErrorCode =
  /** Settings out of range (details.field names the setting). */
  | 'CA_SETTINGS_INVALID'
  /** The trust domain name is not a SPIFFE trust domain name. */
  | 'CA_TRUST_DOMAIN_INVALID'
  /** The command names another trust domain than the deployment's keysets serve. */
  | 'CA_TRUST_DOMAIN_MISMATCH'
  /** A keyset id that is not a lowercase token of 1–64 `[a-z0-9-]`. */
  | 'CA_KEYSET_ID_INVALID'
  /** A keyset with this id already exists in the deployment. */
  | 'CA_KEYSET_EXISTS'
  /** No keyset with this id in the deployment. */
  | 'CA_KEYSET_NOT_FOUND'
  /** A prepared keyset is already waiting; only one successor at a time. */
  | 'CA_KEYSET_ALREADY_PREPARED'
  /** Only a prepared keyset can be activated. */
  | 'CA_KEYSET_NOT_PREPARED'
  /** The keyset is not valid now (before its notBefore or at/after its notAfter). */
  | 'CA_KEYSET_NOT_VALID_NOW'
  /** The active keyset cannot be tainted before a prepared successor exists. */
  | 'CA_TAINT_NEEDS_SUCCESSOR'
  /** Only a tainted keyset can be revoked. */
  | 'CA_KEYSET_NOT_TAINTED'
  /** The active keyset cannot be dropped. */
  | 'CA_KEYSET_ACTIVE'
  /** SVIDs the keyset signed may still be valid; details.dropAt says when it can go. */
  | 'CA_KEYSET_STILL_TRUSTED'
  /** The keyset was revoked or dropped; nothing can be done with it any more. */
  | 'CA_KEYSET_GONE'
  /** A key handle that is empty, too long or has control characters. */
  | 'CA_KEY_HANDLE_INVALID'
  /** A key handle already used by this or another keyset of the deployment. */
  | 'CA_KEY_HANDLE_REUSED'
  /** A public key already used by another key of the deployment (keys are never shared). */
  | 'CA_KEY_REUSED'
  /** The X.509 and JWT keys of a keyset have different key types, or not the expected one. */
  | 'CA_KEY_TYPE_MISMATCH'
  /** The CA certificate does not pass the CA profile (details.cause has the crypto code). */
  | 'CA_CERTIFICATE_INVALID'
  /** The CA certificate has already expired. */
  | 'CA_CERTIFICATE_EXPIRED'
  /** The JWT public key is unusable (details.cause has the crypto code). */
  | 'CA_JWT_KEY_INVALID'
  /** The JWT `kid` is already used by another keyset of the deployment. */
  | 'CA_JWT_KEY_ID_TAKEN'
  /** SVID TTL ceilings that are not positive integers shorter than the CA lifetime. */
  | 'CA_SVID_TTL_INVALID'
  /** No active keyset: nothing can sign yet. */
  | 'CA_NO_ACTIVE_KEYSET'
  /** The active keyset has no remaining lifetime for an SVID. */
  | 'CA_NO_REMAINING_LIFETIME'
  /** The bundle command mixes keysets of another trust domain. */
  | 'BUNDLE_TRUST_DOMAIN_MISMATCH'
  /** The bundle refresh hint is not a positive integer number of seconds. */
  | 'BUNDLE_REFRESH_HINT_INVALID';

/** Builds the DomainError of a CA rule. */
export function caError(
  code: CaErrorCode,
  message: string,
  kind: DomainError['kind'] = 'invalid',
  details?: Readonly<Record<string, unknown>>,
): DomainError {
  return new DomainError(code, message, kind, details);
}

import type {
  CaActivationReason,
  CaEvent,
  CaJwtAuthorityData,
  CaKeysetStatus,
  CaKeyType,
  CaX509AuthorityData,
} from '@trustplane/events';

/** 30 days and 7 days in milliseconds: SPIRE's caps on the preparation / activation lead. */
export const PREPARE_LEAD_CAP_MS = 30 * 24 * 3600 * 1000;
export const ACTIVATE_LEAD_CAP_MS = 7 * 24 * 3600 * 1000;
/**
 * X.509 notAfter is inclusive (RFC 5280 §4.1.2.5): an SVID whose notAfter is T still validates
 * at T, so its CA may only leave the bundle one second later.
 */
export const X509_INCLUSIVE_END_MS = 1000;

/** One keyset of a deployment as folded from its events. Instants are epoch milliseconds. */
export interface Keyset {
  /** Id, unique within the deployment. */
  readonly keysetId: string;
  /** Key type of both keys. */
  readonly keyType: CaKeyType;
  /** Where the keyset is in its lifecycle. */
  readonly status: CaKeysetStatus;
  /** CA (and JWT key) notBefore. */
  readonly notBefore: number;
  /** CA (and JWT key) notAfter. */
  readonly notAfter: number;
  /** Ceiling of the X.509-SVID TTLs it signs (seconds). */
  readonly maxX509SvidTtlSeconds: number;
  /** Ceiling of the JWT-SVID TTLs it signs (seconds). */
  readonly maxJwtSvidTtlSeconds: number;
  /** Public half of the X.509 CA and its key handle. */
  readonly x509: CaX509AuthorityData;
  /** Public half of the JWT key and its key handle. */
  readonly jwt: CaJwtAuthorityData;
  /** When it was prepared (published). */
  readonly preparedAt: number;
  /** When it started signing, or null if it never did. */
  readonly activatedAt: number | null;
  /** When it stopped signing (successor activated or tainted), or null. */
  readonly deactivatedAt: number | null;
  /** When it was tainted, or null. */
  readonly taintedAt: number | null;
  /** When it was revoked, or null. */
  readonly revokedAt: number | null;
  /** When it left the bundle, or null. */
  readonly droppedAt: number | null;
}

/** State of the `ca` aggregate of one deployment. */
export interface CaState {
  /** The deployment (`tdd-…`, the aggregate id); null before the first event. */
  readonly deploymentId: string | null;
  /** The trust domain (`td-…`); null before the first keyset. */
  readonly trustDomainId: string | null;
  /** Trust domain name; null before the first keyset. */
  readonly trustDomain: string | null;
  /** Every keyset ever prepared, oldest first. */
  readonly keysets: readonly Keyset[];
}

const STATUS_AFTER: Readonly<Record<CaEvent['type'], CaKeysetStatus>> = {
  'ca.keyset_prepared': 'prepared',
  'ca.keyset_activated': 'active',
  'ca.keyset_tainted': 'tainted',
  'ca.keyset_revoked': 'revoked',
  'ca.keyset_dropped': 'dropped',
};

/**
 * The status an event of type `eventType` gives the keyset it names, or undefined for an event
 * that is not a `ca.*` one. For read models that keep keyset statuses.
 */
export function keysetStatusAfter(eventType: string): CaKeysetStatus | undefined {
  return Object.hasOwn(STATUS_AFTER, eventType) ? STATUS_AFTER[eventType as CaEvent['type']] : undefined;
}

/**
 * The status an activation leaves the keyset that signed until then (`previousKeysetId`): `old`,
 * or `tainted` when a taint caused the activation.
 */
export function retiredKeysetStatus(reason: CaActivationReason): 'old' | 'tainted' {
  return reason === 'taint' ? 'tainted' : 'old';
}

/** The empty state. */
export function initialCaState(): CaState {
  return { deploymentId: null, trustDomainId: null, trustDomain: null, keysets: [] };
}

/** The keyset that signs now, if any (there is at most one). */
export function activeKeyset(state: CaState): Keyset | undefined {
  return state.keysets.find((k) => k.status === 'active');
}

/** The prepared successor, if any (there is at most one). */
export function preparedKeyset(state: CaState): Keyset | undefined {
  return state.keysets.find((k) => k.status === 'prepared');
}

/** A keyset by id. */
export function findKeyset(state: CaState, keysetId: string): Keyset | undefined {
  return state.keysets.find((k) => k.keysetId === keysetId);
}

/** Instant (ms) from which the successor of `keyset` is due: notAfter − min(lifetime/2, 30d). */
export function preparationThreshold(keyset: Pick<Keyset, 'notBefore' | 'notAfter'>): number {
  const lifetime = keyset.notAfter - keyset.notBefore;
  return keyset.notAfter - Math.min(Math.floor(lifetime / 2), PREPARE_LEAD_CAP_MS);
}

/** Instant (ms) from which the successor takes over: notAfter − min(lifetime/6, 7d). */
export function activationThreshold(keyset: Pick<Keyset, 'notBefore' | 'notAfter'>): number {
  const lifetime = keyset.notAfter - keyset.notBefore;
  return keyset.notAfter - Math.min(Math.floor(lifetime / 6), ACTIVATE_LEAD_CAP_MS);
}

/**
 * When the last SVID the keyset could have signed expires (ms), or null when that is not known
 * yet (it still signs) or it never signed. SVIDs are capped at the CA notAfter and at the
 * keyset's TTL ceilings after it stopped signing.
 */
export function lastSvidExpiry(keyset: Keyset): number | null {
  if (keyset.activatedAt === null || keyset.deactivatedAt === null) return null;
  const ceilingMs = Math.max(keyset.maxX509SvidTtlSeconds, keyset.maxJwtSvidTtlSeconds) * 1000;
  return Math.min(keyset.notAfter, keyset.deactivatedAt + ceilingMs);
}

/** Why and from when (ms) a keyset may leave the bundle; null when it may not (yet) be known. */
export interface DropThreshold {
  readonly at: number;
  readonly reason: 'svids_expired' | 'expired_unused' | 'tainted_unused';
}

/**
 * When a keyset may leave the bundle:
 * - old / tainted after signing: one second after its last SVID expiry (X.509 end is inclusive);
 * - tainted before it ever signed: at once (it signed nothing);
 * - prepared but never activated: at its notAfter (it can no longer be activated).
 * Null for the active keyset and for keysets already out of the bundle.
 */
export function dropThreshold(keyset: Keyset): DropThreshold | null {
  switch (keyset.status) {
    case 'old':
    case 'tainted': {
      if (keyset.activatedAt === null)
        return { at: keyset.taintedAt ?? keyset.preparedAt, reason: 'tainted_unused' };
      const last = lastSvidExpiry(keyset);
      return last === null ? null : { at: last + X509_INCLUSIVE_END_MS, reason: 'svids_expired' };
    }
    case 'prepared':
      return { at: keyset.notAfter, reason: 'expired_unused' };
    case 'active':
    case 'revoked':
    case 'dropped':
      return null;
    default: {
      const unexpected: never = keyset.status;
      throw new Error(`unexpected keyset status ${String(unexpected)}`);
    }
  }
}

/** Whether the keyset's authorities belong in the trust bundle at `nowMs`. */
export function inBundle(keyset: Keyset, nowMs: number): boolean {
  const published =
    keyset.status === 'prepared' ||
    keyset.status === 'active' ||
    keyset.status === 'old' ||
    keyset.status === 'tainted';
  // Past its notAfter nothing it signed is valid (SVIDs are capped at it): no need to keep it.
  return published && nowMs <= keyset.notAfter;
}

/** Default KeyManager key ids of a keyset's two keys. Keyset ids should be globally unique. */
export function keyHandlesFor(keysetId: string): { readonly x509: string; readonly jwt: string } {
  return { x509: `x509-${keysetId}`, jwt: `jwt-${keysetId}` };
}

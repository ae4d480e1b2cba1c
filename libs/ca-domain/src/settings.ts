import type { CaKeyType } from '@trustplane/events';
import { caError } from './errors.js';

/** Key types a keyset may use, in preference order (EC P-256 is the default). */
export const CA_KEY_TYPES: readonly CaKeyType[] = Object.freeze(['ec-p256', 'ec-p384', 'rsa-2048']);

/** CA settings of a deployment (all durations in whole seconds). */
export interface CaSettings {
  /** Lifetime of each CA certificate / JWT key (default 24h). */
  readonly caTtlSeconds: number;
  /** X.509-SVID TTL when an entry sets none (default 1h). */
  readonly x509SvidTtlSeconds: number;
  /** JWT-SVID TTL when an entry sets none (default 5m). */
  readonly jwtSvidTtlSeconds: number;
  /**
   * Longest X.509-SVID TTL the signer ever issues (entry TTLs are clamped to it); recorded in
   * each keyset so the keyset leaves the bundle only after its last SVID expired. Default: the
   * default TTL.
   */
  readonly maxX509SvidTtlSeconds: number;
  /** Longest JWT-SVID TTL the signer ever issues (default: the default TTL). */
  readonly maxJwtSvidTtlSeconds: number;
  /** Key type of new keysets (default `ec-p256`). */
  readonly keyType: CaKeyType;
  /** CA notBefore is backdated by this much to absorb clock skew (default 10s). */
  readonly caBackdateSeconds: number;
  /** `spiffe_refresh_hint` of the published bundle (default 5m). */
  readonly bundleRefreshHintSeconds: number;
}

/** The defaults of ARCHITECTURE.md "Keys and the CA". */
export const DEFAULT_CA_SETTINGS: CaSettings = Object.freeze({
  caTtlSeconds: 24 * 3600,
  x509SvidTtlSeconds: 3600,
  jwtSvidTtlSeconds: 300,
  maxX509SvidTtlSeconds: 3600,
  maxJwtSvidTtlSeconds: 300,
  keyType: 'ec-p256',
  caBackdateSeconds: 10,
  bundleRefreshHintSeconds: 300,
});

const SETTING_KEYS = Object.keys(DEFAULT_CA_SETTINGS) as (keyof CaSettings)[];

function invalid(field: string, message: string): never {
  throw caError('CA_SETTINGS_INVALID', `${field}: ${message}`, 'invalid', { field });
}

/**
 * Validates settings once (at boot) and returns them frozen. Missing keys take the defaults;
 * `maxX509SvidTtlSeconds` / `maxJwtSvidTtlSeconds` default to the given default TTLs. Unknown
 * keys, non-integers, TTLs not below the CA lifetime and defaults above their ceiling are
 * refused with CA_SETTINGS_INVALID naming the field.
 */
export function resolveCaSettings(input: Partial<CaSettings> = {}): CaSettings {
  for (const key of Object.keys(input)) {
    if (!(SETTING_KEYS as string[]).includes(key)) invalid(key, 'unknown setting');
  }
  const x509SvidTtlSeconds = input.x509SvidTtlSeconds ?? DEFAULT_CA_SETTINGS.x509SvidTtlSeconds;
  const jwtSvidTtlSeconds = input.jwtSvidTtlSeconds ?? DEFAULT_CA_SETTINGS.jwtSvidTtlSeconds;
  const s: CaSettings = {
    caTtlSeconds: input.caTtlSeconds ?? DEFAULT_CA_SETTINGS.caTtlSeconds,
    x509SvidTtlSeconds,
    jwtSvidTtlSeconds,
    maxX509SvidTtlSeconds: input.maxX509SvidTtlSeconds ?? x509SvidTtlSeconds,
    maxJwtSvidTtlSeconds: input.maxJwtSvidTtlSeconds ?? jwtSvidTtlSeconds,
    keyType: input.keyType ?? DEFAULT_CA_SETTINGS.keyType,
    caBackdateSeconds: input.caBackdateSeconds ?? DEFAULT_CA_SETTINGS.caBackdateSeconds,
    bundleRefreshHintSeconds:
      input.bundleRefreshHintSeconds ?? DEFAULT_CA_SETTINGS.bundleRefreshHintSeconds,
  };
  for (const key of SETTING_KEYS) {
    if (key === 'keyType') continue;
    const v = s[key];
    const min = key === 'caBackdateSeconds' ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) invalid(key, `must be an integer ≥ ${min}`);
  }
  if (!CA_KEY_TYPES.includes(s.keyType))
    invalid('keyType', `must be one of ${CA_KEY_TYPES.join(', ')}`);
  for (const key of ['maxX509SvidTtlSeconds', 'maxJwtSvidTtlSeconds'] as const) {
    if (s[key] >= s.caTtlSeconds) invalid(key, 'must be shorter than caTtlSeconds');
  }
  if (s.x509SvidTtlSeconds > s.maxX509SvidTtlSeconds)
    invalid('x509SvidTtlSeconds', 'must not exceed maxX509SvidTtlSeconds');
  if (s.jwtSvidTtlSeconds > s.maxJwtSvidTtlSeconds)
    invalid('jwtSvidTtlSeconds', 'must not exceed maxJwtSvidTtlSeconds');
  if (s.caBackdateSeconds >= s.caTtlSeconds)
    invalid('caBackdateSeconds', 'must be shorter than caTtlSeconds');
  return Object.freeze(s);
}

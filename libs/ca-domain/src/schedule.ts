import type { CaActivationReason, CaDropReason, CaKeyType } from '@trustplane/events';
import { caError } from './errors.js';
import {
  activationThreshold,
  activeKeyset,
  dropThreshold,
  preparationThreshold,
  preparedKeyset,
  type CaState,
  type Keyset,
} from './keyset.js';
import type { CaSettings } from './settings.js';

/**
 * What the rotation schedule wants done now. `prepare` describes the keyset to create (the
 * caller creates the keys, builds the certificate with exactly this validity and sends the
 * prepare command with these ceilings).
 */
export type RotationAction =
  | {
      readonly kind: 'prepare';
      readonly reason: 'initial' | 'rotation';
      readonly keyType: CaKeyType;
      readonly notBefore: Date;
      readonly notAfter: Date;
      readonly maxX509SvidTtlSeconds: number;
      readonly maxJwtSvidTtlSeconds: number;
    }
  | {
      readonly kind: 'activate';
      readonly keysetId: string;
      readonly reason: Exclude<CaActivationReason, 'taint'>;
    }
  | { readonly kind: 'drop'; readonly keysetId: string; readonly reason: CaDropReason };

/** The first instant: "due immediately". */
const IMMEDIATELY = new Date(0);

/** Validity of a new keyset prepared at `now`: whole seconds, backdated, lifetime = caTtl. */
export function newKeysetValidity(
  now: Date,
  settings: CaSettings,
): { readonly notBefore: Date; readonly notAfter: Date } {
  const notBefore = Math.floor(now.getTime() / 1000) * 1000 - settings.caBackdateSeconds * 1000;
  return {
    notBefore: new Date(notBefore),
    notAfter: new Date(notBefore + settings.caTtlSeconds * 1000),
  };
}

function prepareAction(
  reason: 'initial' | 'rotation',
  now: Date,
  settings: CaSettings,
): RotationAction {
  return {
    kind: 'prepare',
    reason,
    keyType: settings.keyType,
    ...newKeysetValidity(now, settings),
    maxX509SvidTtlSeconds: settings.maxX509SvidTtlSeconds,
    maxJwtSvidTtlSeconds: settings.maxJwtSvidTtlSeconds,
  };
}

/** The prepared keyset, if it can still be activated at `nowMs`. */
function usableSuccessor(state: CaState, nowMs: number): Keyset | undefined {
  const next = preparedKeyset(state);
  return next !== undefined && nowMs < next.notAfter ? next : undefined;
}

/**
 * What is due at `now` (SPIRE's schedule, a pure function of time), in the order to apply:
 * 1. drop every keyset whose drop threshold has passed (old/tainted: last SVID expired + 1s;
 *    tainted before use: at once; prepared but expired: at its notAfter);
 * 2. no active keyset: activate the prepared one, else prepare one (`initial`; the next call
 *    then activates it);
 * 3. active keyset from `notAfter − min(lifetime/6, 7d)` (or expired): activate the prepared
 *    successor, or prepare one right away if there is none (it is activated on the next call);
 * 4. active keyset from `notAfter − min(lifetime/2, 30d)`: prepare the successor (published
 *    in the bundle from then on, long before it signs).
 * Apply the actions, then call again until nothing is due (at most three rounds).
 */
export function rotationActions(state: CaState, now: Date, settings: CaSettings): RotationAction[] {
  const nowMs = now.getTime();
  const actions: RotationAction[] = [];
  for (const keyset of state.keysets) {
    const threshold = dropThreshold(keyset);
    if (threshold !== null && nowMs >= threshold.at)
      actions.push({ kind: 'drop', keysetId: keyset.keysetId, reason: threshold.reason });
  }
  const active = activeKeyset(state);
  const next = usableSuccessor(state, nowMs);
  if (active === undefined || nowMs >= activationThreshold(active)) {
    if (next === undefined)
      actions.push(prepareAction(active === undefined ? 'initial' : 'rotation', now, settings));
    else if (next.notBefore <= nowMs)
      actions.push({
        kind: 'activate',
        keysetId: next.keysetId,
        reason: active === undefined ? 'initial' : 'rotation',
      });
  } else if (next === undefined && nowMs >= preparationThreshold(active)) {
    actions.push(prepareAction('rotation', now, settings));
  }
  return actions;
}

/**
 * The earliest instant at which rotationActions has something to do; an instant in the past
 * (IMMEDIATELY for a deployment without keysets) means "now". For every t before the returned
 * instant rotationActions(state, t, …) is empty, so a single timer set to it is enough.
 */
export function nextDueAt(state: CaState): Date {
  const candidates: number[] = [];
  for (const keyset of state.keysets) {
    const threshold = dropThreshold(keyset);
    if (threshold !== null) candidates.push(threshold.at);
  }
  const active = activeKeyset(state);
  const next = preparedKeyset(state);
  if (active === undefined) {
    if (next === undefined) return IMMEDIATELY;
    candidates.push(next.notBefore);
  } else if (next === undefined) {
    candidates.push(preparationThreshold(active));
  } else {
    candidates.push(Math.max(activationThreshold(active), next.notBefore));
  }
  return new Date(Math.min(...candidates));
}

/** An SVID TTL decision: the TTL to use and what limited it. */
export interface SvidTtl {
  /** The keyset that signs. */
  readonly keysetId: string;
  /** Seconds to request from the minter. */
  readonly ttlSeconds: number;
  /** What limited the TTL: the request (or default), the keyset's ceiling, or the CA's remaining life. */
  readonly cappedBy: 'requested' | 'ceiling' | 'ca_lifetime';
}

function svidTtl(
  state: CaState,
  now: Date,
  requested: number,
  ceiling: (k: Keyset) => number,
): SvidTtl {
  const active = activeKeyset(state);
  if (active === undefined)
    throw caError('CA_NO_ACTIVE_KEYSET', 'no keyset is active yet', 'conflict');
  const remaining = Math.floor((active.notAfter - now.getTime()) / 1000);
  if (remaining <= 0)
    throw caError(
      'CA_NO_REMAINING_LIFETIME',
      `the active keyset ${active.keysetId} has expired`,
      'conflict',
    );
  const limits: [number, SvidTtl['cappedBy']][] = [
    [requested, 'requested'],
    [ceiling(active), 'ceiling'],
    [remaining, 'ca_lifetime'],
  ];
  const [ttlSeconds, cappedBy] = limits.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { keysetId: active.keysetId, ttlSeconds, cappedBy };
}

function requestedTtl(requested: number | undefined, fallback: number): number {
  const ttl = requested ?? fallback;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw caError('CA_SVID_TTL_INVALID', 'an SVID TTL must be a positive whole number of seconds');
  return ttl;
}

/**
 * The X.509-SVID TTL to mint with now: the requested TTL (default from the settings), capped
 * at the active keyset's ceiling and at what the active CA's remaining life allows.
 */
export function x509SvidTtl(
  state: CaState,
  now: Date,
  settings: CaSettings,
  requestedSeconds?: number,
): SvidTtl {
  return svidTtl(
    state,
    now,
    requestedTtl(requestedSeconds, settings.x509SvidTtlSeconds),
    (k) => k.maxX509SvidTtlSeconds,
  );
}

/** The JWT-SVID TTL to mint with now (same caps as x509SvidTtl). */
export function jwtSvidTtl(
  state: CaState,
  now: Date,
  settings: CaSettings,
  requestedSeconds?: number,
): SvidTtl {
  return svidTtl(
    state,
    now,
    requestedTtl(requestedSeconds, settings.jwtSvidTtlSeconds),
    (k) => k.maxJwtSvidTtlSeconds,
  );
}

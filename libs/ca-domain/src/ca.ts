import {
  createJwtAuthority,
  isCryptoError,
  keyIdOf,
  validateCaCertificate,
  type X509Authority,
} from '@trustplane/crypto';
import {
  accept,
  assertNever,
  reject,
  type CaEvent,
  type CaKeyType,
  type Decider,
  type Decision,
  type DomainError,
  type EnvelopeOf,
  type EventDraft,
} from '@trustplane/events';
import { parseTrustDomain } from '@trustplane/spiffe';
import { caError } from './errors.js';
import {
  activeKeyset,
  dropThreshold,
  findKeyset,
  initialCaState,
  preparedKeyset,
  type CaState,
  type Keyset,
} from './keyset.js';

/** Aggregate type of a deployment's CA (aggregate id = the deployment id). */
export const CA = 'ca';

const KEYSET_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Same rule as the KeyManager's key ids. */
const KEY_HANDLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}$/;

/**
 * Prepare a keyset. The caller has already created both keys in the KeyManager and built the
 * self-signed CA certificate with the X.509 key; the command carries only public material and
 * the key handles. Validity, key type, SKID and serial are read from the certificate itself.
 */
export interface PrepareKeysetCommand {
  readonly kind: 'prepare';
  readonly trustDomainId: string;
  /** Trust domain name (no scheme); must be the certificate's URI SAN. */
  readonly trustDomain: string;
  /** New keyset id (lowercase `[a-z0-9-]`, 1–64); should be globally unique. */
  readonly keysetId: string;
  /** Expected key type (from the settings); refused when the keys are of another type. */
  readonly keyType?: CaKeyType;
  /** The X.509 CA. */
  readonly x509: { readonly keyHandle: string; readonly certificate: Uint8Array };
  /** The JWT key; `keyId` defaults to keyIdOf(publicKey). */
  readonly jwt: {
    readonly keyHandle: string;
    readonly publicKey: Uint8Array;
    readonly keyId?: string;
  };
  /** SVID TTL ceilings the signer enforces while this keyset signs (from the settings). */
  readonly maxX509SvidTtlSeconds: number;
  readonly maxJwtSvidTtlSeconds: number;
}

/** Commands of a deployment's CA. */
export type CaCommand =
  | PrepareKeysetCommand
  /** Make a prepared keyset the signing one; the active one becomes `old`. */
  | { readonly kind: 'activate'; readonly keysetId: string }
  /**
   * Taint a keyset. A prepared or old keyset just becomes tainted. The active keyset is first
   * replaced by the prepared successor (activation in the same decision) so signing never stops.
   */
  | { readonly kind: 'taint'; readonly keysetId: string }
  /** Remove a tainted keyset from the bundle at once; what it signed stops verifying. */
  | { readonly kind: 'revoke'; readonly keysetId: string }
  /** Remove an old / tainted / expired keyset from the bundle once nothing it signed is valid. */
  | { readonly kind: 'drop'; readonly keysetId: string };

type Draft = EventDraft<CaEvent>;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function ms(text: string): number {
  return Date.parse(text);
}

function replaceKeyset(state: CaState, keysetId: string, change: (k: Keyset) => Keyset): CaState {
  return { ...state, keysets: state.keysets.map((k) => (k.keysetId === keysetId ? change(k) : k)) };
}

function evolveCa(state: CaState, event: EnvelopeOf<CaEvent>): CaState {
  const base: CaState =
    state.deploymentId === event.aggregateId
      ? state
      : { ...state, deploymentId: event.aggregateId };
  switch (event.type) {
    case 'ca.keyset_prepared': {
      const d = event.data;
      const keyset: Keyset = {
        keysetId: d.keysetId,
        keyType: d.keyType,
        status: 'prepared',
        notBefore: ms(d.notBefore),
        notAfter: ms(d.notAfter),
        maxX509SvidTtlSeconds: d.maxX509SvidTtlSeconds,
        maxJwtSvidTtlSeconds: d.maxJwtSvidTtlSeconds,
        x509: d.x509,
        jwt: d.jwt,
        preparedAt: ms(d.preparedAt),
        activatedAt: null,
        deactivatedAt: null,
        taintedAt: null,
        revokedAt: null,
        droppedAt: null,
      };
      return {
        ...base,
        trustDomainId: d.trustDomainId,
        trustDomain: d.trustDomain,
        keysets: [...base.keysets, keyset],
      };
    }
    case 'ca.keyset_activated': {
      const at = ms(event.data.activatedAt);
      const { keysetId } = event.data;
      return {
        ...base,
        keysets: base.keysets.map((k) => {
          if (k.keysetId === keysetId) return { ...k, status: 'active', activatedAt: at };
          // Exactly one keyset signs: whatever was active (previousKeysetId) is now old.
          return k.status === 'active' ? { ...k, status: 'old', deactivatedAt: at } : k;
        }),
      };
    }
    case 'ca.keyset_tainted': {
      const at = ms(event.data.taintedAt);
      return replaceKeyset(base, event.data.keysetId, (k) => ({
        ...k,
        status: 'tainted',
        taintedAt: at,
        deactivatedAt: k.deactivatedAt ?? (k.activatedAt === null ? null : at),
      }));
    }
    case 'ca.keyset_revoked':
      return replaceKeyset(base, event.data.keysetId, (k) => ({
        ...k,
        status: 'revoked',
        revokedAt: ms(event.data.revokedAt),
      }));
    case 'ca.keyset_dropped':
      return replaceKeyset(base, event.data.keysetId, (k) => ({
        ...k,
        status: 'dropped',
        droppedAt: ms(event.data.droppedAt),
      }));
    default:
      return assertNever(event, 'ca event');
  }
}

function cryptoCode(err: unknown): string {
  return isCryptoError(err) ? err.code : 'UNKNOWN';
}

/** Checks a prepare command (every rule before any event). */
function decidePrepare(
  command: PrepareKeysetCommand,
  state: CaState,
  nowMs: number,
): Decision<CaEvent> {
  const outcome = checkPrepare(command, state, nowMs);
  return outcome instanceof Error ? reject(outcome) : accept(outcome);
}

function checkPrepare(
  command: PrepareKeysetCommand,
  state: CaState,
  nowMs: number,
): Draft | DomainError {
  const td = parseTrustDomain(command.trustDomain);
  if (!td.ok) {
    return caError(
      'CA_TRUST_DOMAIN_INVALID',
      `"${command.trustDomain}" is not a trust domain name: ${td.error.message}`,
      'invalid',
      { rule: td.error.code },
    );
  }
  if (
    state.trustDomainId !== null &&
    (state.trustDomainId !== command.trustDomainId || state.trustDomain !== command.trustDomain)
  ) {
    return caError(
      'CA_TRUST_DOMAIN_MISMATCH',
      `this deployment's CA serves ${state.trustDomain} (${state.trustDomainId})`,
      'conflict',
    );
  }
  if (!KEYSET_ID_PATTERN.test(command.keysetId)) {
    return caError(
      'CA_KEYSET_ID_INVALID',
      'keyset id must be 1–64 characters of a-z, 0-9 and "-", starting with a letter or digit',
    );
  }
  if (findKeyset(state, command.keysetId))
    return caError('CA_KEYSET_EXISTS', `keyset ${command.keysetId} already exists`, 'conflict');
  const waiting = preparedKeyset(state);
  if (waiting) {
    return caError(
      'CA_KEYSET_ALREADY_PREPARED',
      `keyset ${waiting.keysetId} is already prepared; activate, taint or drop it first`,
      'conflict',
      { keysetId: waiting.keysetId },
    );
  }
  const handles = [command.x509.keyHandle, command.jwt.keyHandle];
  for (const handle of handles) {
    if (typeof handle !== 'string' || !KEY_HANDLE_PATTERN.test(handle)) {
      return caError(
        'CA_KEY_HANDLE_INVALID',
        `key handle "${String(handle)}" is not a valid KeyManager key id`,
      );
    }
  }
  const used = new Set(state.keysets.flatMap((k) => [k.x509.keyHandle, k.jwt.keyHandle]));
  if (handles[0] === handles[1] || handles.some((h) => used.has(h))) {
    return caError(
      'CA_KEY_HANDLE_REUSED',
      'each key of each keyset needs its own key handle',
      'conflict',
    );
  }

  let ca: X509Authority;
  try {
    ca = validateCaCertificate(command.x509.certificate, { trustDomain: command.trustDomain });
  } catch (err) {
    return caError(
      'CA_CERTIFICATE_INVALID',
      `the CA certificate is not a valid CA of ${command.trustDomain}`,
      'invalid',
      { cause: cryptoCode(err) },
    );
  }
  const notBefore = ca.notBefore.getTime();
  const notAfter = ca.notAfter.getTime();
  if (nowMs >= notAfter)
    return caError(
      'CA_CERTIFICATE_EXPIRED',
      `the CA certificate expired at ${ca.notAfter.toISOString()}`,
    );

  let jwtKeyId: string;
  let jwtSpki: Buffer;
  let jwtKeyType: CaKeyType;
  try {
    const jwt = createJwtAuthority({
      trustDomain: command.trustDomain,
      publicKey: command.jwt.publicKey,
      keyId: command.jwt.keyId ?? keyIdOf(command.jwt.publicKey),
    });
    jwtKeyId = jwt.keyId;
    jwtSpki = jwt.spki;
    jwtKeyType = jwt.keyType;
  } catch (err) {
    return caError(
      'CA_JWT_KEY_INVALID',
      'the JWT public key is not a usable authority key',
      'invalid',
      { cause: cryptoCode(err) },
    );
  }
  if (
    jwtKeyType !== ca.keyType ||
    (command.keyType !== undefined && command.keyType !== ca.keyType)
  ) {
    return caError(
      'CA_KEY_TYPE_MISMATCH',
      `keys are ${ca.keyType} (X.509) and ${jwtKeyType} (JWT)${command.keyType ? `, expected ${command.keyType}` : ''}`,
    );
  }
  const x509Key = ca.spki.toString('base64');
  const jwtKey = jwtSpki.toString('base64');
  const knownKeys = new Set(state.keysets.flatMap((k) => [k.x509.publicKey, k.jwt.publicKey]));
  if (x509Key === jwtKey || knownKeys.has(x509Key) || knownKeys.has(jwtKey)) {
    return caError(
      'CA_KEY_REUSED',
      'every key must be fresh: a public key is already used in this deployment',
      'conflict',
    );
  }
  if (state.keysets.some((k) => k.jwt.keyId === jwtKeyId)) {
    return caError(
      'CA_JWT_KEY_ID_TAKEN',
      `kid ${jwtKeyId} is already used in this deployment`,
      'conflict',
    );
  }
  const lifetimeSeconds = (notAfter - notBefore) / 1000;
  for (const ttl of [command.maxX509SvidTtlSeconds, command.maxJwtSvidTtlSeconds]) {
    if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl >= lifetimeSeconds) {
      return caError(
        'CA_SVID_TTL_INVALID',
        `SVID TTL ceilings must be positive whole seconds below the CA lifetime (${lifetimeSeconds}s)`,
      );
    }
  }
  return {
    type: 'ca.keyset_prepared',
    schemaVersion: 1,
    data: {
      trustDomainId: command.trustDomainId,
      trustDomain: command.trustDomain,
      keysetId: command.keysetId,
      keyType: ca.keyType,
      notBefore: iso(notBefore),
      notAfter: iso(notAfter),
      maxX509SvidTtlSeconds: command.maxX509SvidTtlSeconds,
      maxJwtSvidTtlSeconds: command.maxJwtSvidTtlSeconds,
      preparedAt: iso(nowMs),
      x509: {
        keyHandle: command.x509.keyHandle,
        certificate: ca.certificate.toString('base64'),
        subjectKeyId: ca.subjectKeyId.toString('hex'),
        publicKey: x509Key,
        serialNumber: ca.serialNumber,
      },
      jwt: { keyHandle: command.jwt.keyHandle, keyId: jwtKeyId, publicKey: jwtKey },
    },
  };
}

function notFound(keysetId: string): DomainError {
  return caError('CA_KEYSET_NOT_FOUND', `keyset ${keysetId} not found`, 'not_found');
}

function gone(keyset: Keyset): DomainError {
  return caError('CA_KEYSET_GONE', `keyset ${keyset.keysetId} is ${keyset.status}`, 'conflict');
}

function validNow(keyset: Keyset, nowMs: number): boolean {
  return keyset.notBefore <= nowMs && nowMs < keyset.notAfter;
}

/** The activation event of `next`, replacing the active keyset (if any). */
function activation(
  state: CaState,
  next: Keyset,
  nowMs: number,
  reason: 'rotation' | 'taint',
): Draft {
  const previous = activeKeyset(state);
  return {
    type: 'ca.keyset_activated',
    schemaVersion: 1,
    data: {
      trustDomainId: state.trustDomainId ?? '',
      keysetId: next.keysetId,
      previousKeysetId: previous?.keysetId ?? null,
      reason: previous === undefined ? 'initial' : reason,
      activatedAt: iso(nowMs),
    },
  };
}

/**
 * The CA aggregate of one trust domain deployment. Rules:
 * - prepare: at most one prepared keyset; fresh keyset id, key handles and public keys; the CA
 *   certificate must pass the CA profile for the trust domain and not be expired; both keys of
 *   the same type; SVID TTL ceilings below the CA lifetime.
 * - activate: only a prepared keyset valid now (notBefore ≤ now < notAfter); the active one
 *   becomes old in the same event. Activating the active keyset again is a no-op.
 * - taint: prepared/old → tainted. The active keyset only with a prepared successor valid now,
 *   which is activated in the same decision (forced rotation; signing never stops). Tainting a
 *   tainted keyset is a no-op; a revoked/dropped one is gone.
 * - revoke: only a tainted keyset (taint first, as in SPIRE); revoking again or a dropped
 *   keyset is a no-op.
 * - drop: old/tainted once nothing it signed can be valid (see dropThreshold), a prepared one
 *   once expired; never the active one. Dropping again or a revoked keyset is a no-op.
 */
export const caDecider: Decider<CaState, CaCommand, CaEvent> = {
  aggregateType: CA,
  initialState: initialCaState,
  evolve: evolveCa,
  decide(command, state, { now }) {
    const nowMs = now.getTime();
    switch (command.kind) {
      case 'prepare':
        return decidePrepare(command, state, nowMs);
      case 'activate': {
        const keyset = findKeyset(state, command.keysetId);
        if (!keyset) return reject(notFound(command.keysetId));
        if (keyset.status === 'active') return accept();
        if (keyset.status !== 'prepared') {
          return reject(
            caError(
              'CA_KEYSET_NOT_PREPARED',
              `only a prepared keyset can be activated; ${keyset.keysetId} is ${keyset.status}`,
              'conflict',
            ),
          );
        }
        if (!validNow(keyset, nowMs)) {
          return reject(
            caError(
              'CA_KEYSET_NOT_VALID_NOW',
              `keyset ${keyset.keysetId} is valid from ${iso(keyset.notBefore)} to ${iso(keyset.notAfter)}`,
              'conflict',
            ),
          );
        }
        return accept(activation(state, keyset, nowMs, 'rotation'));
      }
      case 'taint': {
        const keyset = findKeyset(state, command.keysetId);
        if (!keyset) return reject(notFound(command.keysetId));
        const tainted = (previousStatus: 'prepared' | 'active' | 'old'): Draft => ({
          type: 'ca.keyset_tainted',
          schemaVersion: 1,
          data: {
            trustDomainId: state.trustDomainId ?? '',
            keysetId: keyset.keysetId,
            previousStatus,
            taintedAt: iso(nowMs),
          },
        });
        switch (keyset.status) {
          case 'tainted':
            return accept();
          case 'revoked':
          case 'dropped':
            return reject(gone(keyset));
          case 'prepared':
          case 'old':
            return accept(tainted(keyset.status));
          case 'active': {
            const successor = preparedKeyset(state);
            if (!successor) {
              return reject(
                caError(
                  'CA_TAINT_NEEDS_SUCCESSOR',
                  `prepare a successor before tainting the active keyset ${keyset.keysetId}, so signing never stops`,
                  'conflict',
                ),
              );
            }
            if (!validNow(successor, nowMs)) {
              return reject(
                caError(
                  'CA_KEYSET_NOT_VALID_NOW',
                  `the successor ${successor.keysetId} is not valid now`,
                  'conflict',
                ),
              );
            }
            return accept(activation(state, successor, nowMs, 'taint'), tainted('active'));
          }
          default:
            return assertNever(keyset.status, 'keyset status');
        }
      }
      case 'revoke': {
        const keyset = findKeyset(state, command.keysetId);
        if (!keyset) return reject(notFound(command.keysetId));
        if (keyset.status === 'revoked' || keyset.status === 'dropped') return accept();
        if (keyset.status !== 'tainted') {
          return reject(
            caError(
              'CA_KEYSET_NOT_TAINTED',
              `taint keyset ${keyset.keysetId} before revoking it`,
              'conflict',
            ),
          );
        }
        return accept({
          type: 'ca.keyset_revoked',
          schemaVersion: 1,
          data: {
            trustDomainId: state.trustDomainId ?? '',
            keysetId: keyset.keysetId,
            revokedAt: iso(nowMs),
          },
        });
      }
      case 'drop': {
        const keyset = findKeyset(state, command.keysetId);
        if (!keyset) return reject(notFound(command.keysetId));
        if (keyset.status === 'dropped' || keyset.status === 'revoked') return accept();
        if (keyset.status === 'active')
          return reject(
            caError('CA_KEYSET_ACTIVE', `keyset ${keyset.keysetId} is active`, 'conflict'),
          );
        const threshold = dropThreshold(keyset);
        if (threshold === null || nowMs < threshold.at) {
          const dropAt = threshold === null ? null : iso(threshold.at);
          return reject(
            caError(
              'CA_KEYSET_STILL_TRUSTED',
              `SVIDs of keyset ${keyset.keysetId} may be valid until ${dropAt ?? 'unknown'}`,
              'conflict',
              { dropAt },
            ),
          );
        }
        return accept({
          type: 'ca.keyset_dropped',
          schemaVersion: 1,
          data: {
            trustDomainId: state.trustDomainId ?? '',
            keysetId: keyset.keysetId,
            reason: threshold.reason,
            droppedAt: iso(nowMs),
          },
        });
      }
      default:
        return assertNever(command, 'ca command');
    }
  },
};

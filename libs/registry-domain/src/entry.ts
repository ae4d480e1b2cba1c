import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type EntryCreated,
  type EntryData,
  type EntryDeleted,
  type EntryUpdated,
} from '@trustplane/events';
import { formatSelector, MAX_ENTRY_HINT_LENGTH, parseTrustDomain, RESERVED_SPIFFE_PATH_SEGMENTS, validateRegistrationEntry, type RegistrationEntryInput } from '@trustplane/spiffe';
import { checkTextField } from './text.js';

/** Aggregate type of registration entries. */
export const ENTRY = 'entry';
/** Path segments an entry's SPIFFE ID may not start with: the one rule of @trustplane/spiffe (agents, the signer, SPIRE). */
export const RESERVED_ENTRY_PATHS: readonly string[] = RESERVED_SPIFFE_PATH_SEGMENTS;

/** Events of a registration entry. */
export type EntryEvent = EntryCreated | EntryUpdated | EntryDeleted;

/** State of one entry. */
export type EntryState =
  | { readonly phase: 'absent' | 'deleted' }
  | { readonly phase: 'live'; readonly data: EntryData; readonly revision: number };

/** Commands of an entry. `input` is the complete desired entry (the API merges patches). */
export type EntryCommand =
  | { readonly kind: 'create'; readonly trustDomainId: string; readonly trustDomainName: string; readonly input: RegistrationEntryInput }
  | {
      readonly kind: 'update';
      readonly trustDomainName: string;
      readonly expectedRevision: number;
      readonly input: RegistrationEntryInput;
    }
  | { readonly kind: 'delete' }
  /**
   * Its trust domain was deleted: the entry goes too. Unlike `delete`, nothing to do (no error)
   * when it is already gone, so the request that deleted the trust domain, a retry of it and the
   * reconciler can all run it.
   */
  | { readonly kind: 'remove-with-trust-domain' };

/** Converts stored entry data back into validator input (for merging a patch). */
export function entryInputOf(data: EntryData): RegistrationEntryInput {
  return {
    spiffeId: data.spiffeId,
    parentId: data.parentId,
    selectors: data.selectors,
    ...(data.x509SvidTtl === null ? {} : { x509SvidTtlSeconds: data.x509SvidTtl }),
    ...(data.jwtSvidTtl === null ? {} : { jwtSvidTtlSeconds: data.jwtSvidTtl }),
    dnsNames: data.dnsNames,
    federatesWith: data.federatesWith,
    admin: data.admin,
    downstream: data.downstream,
    ...(data.hint === null ? {} : { hint: data.hint }),
    ...(data.expiresAt === null ? {} : { expiresAt: data.expiresAt }),
  };
}

function validate(trustDomainId: string, trustDomainName: string, input: RegistrationEntryInput, now: Date): EntryData | DomainError {
  const td = parseTrustDomain(trustDomainName);
  if (!td.ok) return new DomainError('TRUST_DOMAIN_NAME_INVALID', td.error.message);
  // The SPIFFE rules cover ids, selectors and DNS names; the hint is free text.
  const hint = typeof input.hint === 'string' ? checkTextField('ENTRY_INVALID', 'hint', input.hint, { maxLength: MAX_ENTRY_HINT_LENGTH }) : input.hint;
  if (hint instanceof DomainError) return hint;
  const result = validateRegistrationEntry({ ...input, ...(hint === undefined ? {} : { hint }) }, td.value, { now, reservedPathSegments: RESERVED_ENTRY_PATHS });
  if (!result.ok) {
    const errors = result.error.map((e) => ({ field: e.path, code: e.code, message: e.message }));
    return new DomainError('ENTRY_INVALID', errors.map((e) => e.message).join('; '), 'invalid', { errors });
  }
  const entry = result.value;
  return {
    trustDomainId,
    spiffeId: entry.spiffeId.toString(),
    parentId: entry.parentId.toString(),
    selectors: entry.selectors.map(formatSelector),
    x509SvidTtl: entry.x509SvidTtlSeconds ?? null,
    jwtSvidTtl: entry.jwtSvidTtlSeconds ?? null,
    dnsNames: entry.dnsNames,
    federatesWith: entry.federatesWith.map(String),
    admin: entry.admin,
    downstream: entry.downstream,
    hint: entry.hint ?? null,
    expiresAt: entry.expiresAt ?? null,
  };
}

function sameData(a: EntryData, b: EntryData): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The registration entry aggregate; every change bumps the revision. */
export const entryDecider: Decider<EntryState, EntryCommand, EntryEvent> = {
  aggregateType: ENTRY,
  initialState: () => ({ phase: 'absent' }),
  evolve(_state, event) {
    switch (event.type) {
      case 'entry.created':
      case 'entry.updated': {
        const { revision, ...data } = event.data;
        return { phase: 'live', data, revision };
      }
      case 'entry.deleted':
        return { phase: 'deleted' };
      default:
        return assertNever(event, 'entry event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'create': {
        if (state.phase !== 'absent') return reject(new DomainError('ENTRY_EXISTS', 'entry already exists', 'conflict'));
        const data = validate(command.trustDomainId, command.trustDomainName, command.input, now);
        if (data instanceof DomainError) return reject(data);
        return accept({ type: 'entry.created', schemaVersion: 1, data: { ...data, revision: 1 } });
      }
      case 'update': {
        if (state.phase !== 'live') return reject(notFound());
        if (command.expectedRevision !== state.revision) {
          return reject(
            new DomainError('ENTRY_REVISION_MISMATCH', `entry is at revision ${state.revision}, not ${command.expectedRevision}; reload and retry`, 'conflict', {
              currentRevision: state.revision,
            }),
          );
        }
        const data = validate(state.data.trustDomainId, command.trustDomainName, command.input, now);
        if (data instanceof DomainError) return reject(data);
        if (sameData(data, state.data)) return accept();
        return accept({ type: 'entry.updated', schemaVersion: 1, data: { ...data, revision: state.revision + 1 } });
      }
      case 'delete':
        if (state.phase !== 'live') return reject(notFound());
        return accept({ type: 'entry.deleted', schemaVersion: 1, data: { trustDomainId: state.data.trustDomainId, spiffeId: state.data.spiffeId } });
      case 'remove-with-trust-domain':
        if (state.phase !== 'live') return accept();
        return accept({ type: 'entry.deleted', schemaVersion: 1, data: { trustDomainId: state.data.trustDomainId, spiffeId: state.data.spiffeId } });
      default:
        return assertNever(command, 'entry command');
    }
  },
};

function notFound(): DomainError {
  return new DomainError('ENTRY_NOT_FOUND', 'entry not found', 'not_found');
}

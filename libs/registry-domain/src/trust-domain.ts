import {
  accept,
  assertNever,
  DomainError,
  reject,
  type Decider,
  type TrustDomainCreated,
  type TrustDomainDeleted,
  type TrustDomainDescribed,
  type TrustDomainKind,
  type TrustDomainStatus,
  type TrustDomainStatusChanged,
} from '@trustplane/events';
import { parseTrustDomain } from '@trustplane/spiffe';
import { checkTextField, refuseIdLikeName } from './text.js';

/** Aggregate type of trust domains. */
export const TRUST_DOMAIN = 'trustdomain';
/** Longest description accepted. */
export const TRUST_DOMAIN_DESCRIPTION_MAX = 1024;

/** Events of the trust domain aggregate. */
export type TrustDomainEvent = TrustDomainCreated | TrustDomainStatusChanged | TrustDomainDescribed | TrustDomainDeleted;

/** State of one trust domain. */
export type TrustDomainState =
  | { readonly phase: 'absent' }
  | { readonly phase: 'deleted'; readonly name: string }
  | {
      readonly phase: 'live';
      readonly name: string;
      readonly description: string;
      readonly kind: TrustDomainKind;
      readonly status: TrustDomainStatus;
    };

/** Something that still uses a trust domain and must be deleted first. */
export interface TrustDomainBlocker {
  readonly kind: 'cluster' | 'deployment';
  readonly id: string;
  readonly name: string;
}

/** Commands of the trust domain aggregate. */
export type TrustDomainCommand =
  | { readonly kind: 'create'; readonly name: string; readonly description: string; readonly trustDomainKind: TrustDomainKind }
  | { readonly kind: 'describe'; readonly description: string }
  | { readonly kind: 'set-status'; readonly status: TrustDomainStatus }
  /** `blockers`: clusters and (for self-hosted) deployments still present, read by the caller. */
  | { readonly kind: 'delete'; readonly blockers: readonly TrustDomainBlocker[] }
  /**
   * Closes an id whose creation never completed (its name was reserved, then the creator
   * died): records it as deleted, so a late `create` of the same id is refused and the name
   * reservation can be released. Does nothing to a live or deleted trust domain.
   */
  | { readonly kind: 'abandon'; readonly name: string };

const STATUS_ORDER: readonly TrustDomainStatus[] = ['initializing', 'provisioning', 'available'];

/** The message naming what must be deleted before the trust domain. */
export function blockersMessage(blockers: readonly TrustDomainBlocker[]): string {
  const parts: string[] = [];
  const clusters = blockers.filter((b) => b.kind === 'cluster');
  const deployments = blockers.filter((b) => b.kind === 'deployment');
  if (clusters.length > 0) {
    parts.push(
      `Trust domain has clusters in use; delete all clusters (${clusters.map((c) => `${c.name} ${c.id}`).join(', ')}) before trying again`,
    );
  }
  if (deployments.length > 0) {
    parts.push(
      `Trust domain has deployments in use; delete all deployments (${deployments.map((d) => `${d.name} ${d.id}`).join(', ')}) before trying again`,
    );
  }
  return parts.join('. ');
}

/** The description, normalized, or why it is refused (shared text rule; tabs and line breaks allowed). */
function descriptionOf(description: string): string | DomainError {
  return checkTextField('TRUST_DOMAIN_DESCRIPTION_INVALID', 'description', description, { maxLength: TRUST_DOMAIN_DESCRIPTION_MAX, multiline: true });
}

/**
 * Why a trust domain name is refused, or undefined: the SPIFFE trust domain rules, and not shaped
 * like a resource id (the API finds trust domains by id or name).
 */
export function validateTrustDomainName(name: string): DomainError | undefined {
  const parsed = parseTrustDomain(name);
  if (!parsed.ok) {
    return new DomainError('TRUST_DOMAIN_NAME_INVALID', `invalid trust domain name: ${parsed.error.message}`, 'invalid', { rule: parsed.error.code });
  }
  return refuseIdLikeName('TRUST_DOMAIN_NAME_INVALID', 'name', name);
}

/** The trust domain aggregate. */
export const trustDomainDecider: Decider<TrustDomainState, TrustDomainCommand, TrustDomainEvent> = {
  aggregateType: TRUST_DOMAIN,
  initialState: () => ({ phase: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'trustdomain.created':
        return { phase: 'live', name: event.data.name, description: event.data.description, kind: event.data.kind, status: event.data.status };
      case 'trustdomain.status_changed':
        return state.phase === 'live' ? { ...state, status: event.data.status } : state;
      case 'trustdomain.described':
        return state.phase === 'live' ? { ...state, description: event.data.description } : state;
      case 'trustdomain.deleted':
        return { phase: 'deleted', name: event.data.name };
      default:
        return assertNever(event, 'trust domain event');
    }
  },
  decide(command, state) {
    switch (command.kind) {
      case 'create': {
        if (state.phase === 'deleted') {
          return reject(new DomainError('TRUST_DOMAIN_CREATION_ABANDONED', 'this trust domain id was deleted or its creation abandoned; create it again without the old Idempotency-Key', 'conflict'));
        }
        if (state.phase !== 'absent') {
          return reject(new DomainError('TRUST_DOMAIN_EXISTS', 'trust domain already exists', 'conflict'));
        }
        const invalidName = validateTrustDomainName(command.name);
        if (invalidName !== undefined) return reject(invalidName);
        const description = descriptionOf(command.description);
        if (description instanceof DomainError) return reject(description);
        return accept({
          type: 'trustdomain.created',
          schemaVersion: 1,
          data: { name: command.name, description, kind: command.trustDomainKind, status: 'provisioning' },
        });
      }
      case 'describe': {
        if (state.phase !== 'live') return reject(notFound());
        const description = descriptionOf(command.description);
        if (description instanceof DomainError) return reject(description);
        if (description === state.description) return accept();
        return accept({ type: 'trustdomain.described', schemaVersion: 1, data: { description } });
      }
      case 'set-status': {
        if (state.phase !== 'live') return reject(notFound());
        if (STATUS_ORDER.indexOf(command.status) <= STATUS_ORDER.indexOf(state.status)) return accept();
        return accept({ type: 'trustdomain.status_changed', schemaVersion: 1, data: { status: command.status } });
      }
      case 'delete': {
        if (state.phase !== 'live') return reject(notFound());
        const blockers = state.kind === 'managed' ? command.blockers.filter((b) => b.kind === 'cluster') : command.blockers;
        if (blockers.length > 0) {
          return reject(new DomainError('TRUST_DOMAIN_IN_USE', blockersMessage(blockers), 'conflict', { blockers }));
        }
        return accept({ type: 'trustdomain.deleted', schemaVersion: 1, data: { name: state.name } });
      }
      case 'abandon':
        if (state.phase !== 'absent') return accept();
        return accept({ type: 'trustdomain.deleted', schemaVersion: 1, data: { name: command.name } });
      default:
        return assertNever(command, 'trust domain command');
    }
  },
};

function notFound(): DomainError {
  return new DomainError('TRUST_DOMAIN_NOT_FOUND', 'trust domain not found', 'not_found');
}

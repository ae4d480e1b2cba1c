/**
 * The federation relationship aggregate (one per trust domain and peer trust domain): created,
 * refresh requested, deleted. One-way: a relationship of trust domain A with peer B hands B's
 * bundle to A's workloads and changes nothing for B; bundles are never merged.
 */
import { createHash } from 'node:crypto';
import { accept, assertNever, DomainError, reject, type Decider, type FederationEvent, type FederationPeer } from '@trustplane/events';

/** Aggregate type of federation relationships. */
export const FEDERATION = 'federation';

/** Relationship ids: `fr-` + 10 lowercase base36 characters, derived from (trust domain, peer). */
export const FEDERATION_ID = /^fr-[0-9a-z]{10}$/;

/**
 * The id of the relationship of `trustDomainId` with the peer trust domain `peer`: derived, so a
 * second create of the same pair meets the first on the same aggregate (one relationship per pair).
 */
export function federationId(trustDomainId: string, peer: string): string {
  const digest = createHash('sha256').update(`${trustDomainId}\n${peer}`).digest();
  return `fr-${BigInt(`0x${digest.subarray(0, 8).toString('hex')}`).toString(36).padStart(13, '0').slice(-10)}`;
}

/** State of one relationship. */
export interface FederationState {
  readonly phase: 'none' | 'active' | 'deleted';
  readonly trustDomainId: string | null;
  readonly peer: FederationPeer | null;
}

/** Commands of the aggregate. */
export type FederationCommand =
  | { readonly kind: 'create'; readonly trustDomainId: string; readonly trustDomain: string; readonly peer: FederationPeer }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'delete' };

const notFound = () => new DomainError('FEDERATION_NOT_FOUND', 'no such federation relationship', 'not_found');

/** The relationship decider. */
export const federationDecider: Decider<FederationState, FederationCommand, FederationEvent> = {
  aggregateType: FEDERATION,
  initialState: () => ({ phase: 'none', trustDomainId: null, peer: null }),
  evolve(state, event) {
    switch (event.type) {
      case 'federation.created':
        return { phase: 'active', trustDomainId: event.data.trustDomainId, peer: event.data.peer };
      case 'federation.refresh_requested':
        return state;
      case 'federation.deleted':
        return { ...state, phase: 'deleted' };
      default:
        return assertNever(event, 'federation event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'create':
        if (state.phase === 'active') {
          // The same request again is a no-op; a different peer definition is a conflict.
          if (state.trustDomainId === command.trustDomainId && JSON.stringify(state.peer) === JSON.stringify(command.peer)) return accept();
          return reject(new DomainError('FEDERATION_EXISTS', `${command.trustDomain} already federates with ${command.peer.trustDomain}: delete that relationship first`, 'conflict'));
        }
        return accept({ type: 'federation.created', schemaVersion: 1, data: { trustDomainId: command.trustDomainId, trustDomain: command.trustDomain, peer: command.peer } });
      case 'refresh':
        if (state.phase !== 'active') return reject(notFound());
        return accept({ type: 'federation.refresh_requested', schemaVersion: 1, data: { requestedAt: now.toISOString() } });
      case 'delete':
        if (state.phase !== 'active' || state.trustDomainId === null || state.peer === null) return reject(notFound());
        return accept({ type: 'federation.deleted', schemaVersion: 1, data: { trustDomainId: state.trustDomainId, peerTrustDomain: state.peer.trustDomain } });
      default:
        return assertNever(command, 'federation command');
    }
  },
};

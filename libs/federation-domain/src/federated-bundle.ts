/**
 * The `federatedbundle` aggregate (one per relationship, id = `fr-…`): the last peer bundle the
 * federation service fetched. Recording the same content again is a no-op, so a poll that finds
 * nothing new appends nothing; any change of keys or sequence is one `federatedbundle.updated`.
 */
import { accept, assertNever, type Decider, type FederatedBundleEvent, type SpiffeBundleDocument } from '@trustplane/events';

/** Aggregate type of fetched peer bundles. */
export const FEDERATED_BUNDLE = 'federatedbundle';

/** State: the last recorded document, or null. */
export interface FederatedBundleState {
  readonly document: SpiffeBundleDocument | null;
}

/** Record a fetched bundle. */
export interface RecordFederatedBundle {
  readonly kind: 'record';
  readonly trustDomainId: string;
  readonly peerTrustDomain: string;
  readonly document: SpiffeBundleDocument;
}

/** Whether two bundle documents have the same content (keys, sequence, refresh hint). */
export function sameBundle(a: SpiffeBundleDocument | null, b: SpiffeBundleDocument): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}

/** The decider. */
export const federatedBundleDecider: Decider<FederatedBundleState, RecordFederatedBundle, FederatedBundleEvent> = {
  aggregateType: FEDERATED_BUNDLE,
  initialState: () => ({ document: null }),
  evolve(_state, event) {
    switch (event.type) {
      case 'federatedbundle.updated':
        return { document: event.data.document };
      default:
        return assertNever(event.type, 'federated bundle event');
    }
  },
  decide(command, state, { now }) {
    switch (command.kind) {
      case 'record':
        if (sameBundle(state.document, command.document)) return accept();
        return accept({
          type: 'federatedbundle.updated',
          schemaVersion: 1,
          data: {
            trustDomainId: command.trustDomainId,
            peerTrustDomain: command.peerTrustDomain,
            sequence: Number.isSafeInteger(command.document.spiffe_sequence) ? command.document.spiffe_sequence : null,
            document: command.document,
            fetchedAt: now.toISOString(),
          },
        });
      default:
        return assertNever(command.kind, 'federated bundle command');
    }
  },
};

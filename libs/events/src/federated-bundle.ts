import type { SpiffeBundleDocument } from './ca.js';
import type { EventDefinition } from './envelope.js';

/**
 * The federation service fetched a peer's bundle whose content differs from the last one it
 * recorded (aggregate `federatedbundle`, id = the relationship's `fr-…` id). Public keys only.
 */
export type FederatedBundleUpdated = EventDefinition<
  'federatedbundle.updated',
  1,
  {
    /** Our trust domain that trusts the peer. */
    readonly trustDomainId: string;
    readonly peerTrustDomain: string;
    /** The peer's `spiffe_sequence`, when its document carries one. */
    readonly sequence: number | null;
    readonly document: SpiffeBundleDocument;
    /** ISO-8601 time of the fetch. */
    readonly fetchedAt: string;
  }
>;

/** Every event of the `federatedbundle` aggregate. */
export type FederatedBundleEvent = FederatedBundleUpdated;

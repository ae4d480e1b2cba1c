import type { EventDefinition } from './envelope.js';

/** How a peer's bundle endpoint is authenticated (SPIFFE Federation §5.2). */
export type BundleEndpointProfile = 'https_web' | 'https_spiffe';

/** A peer trust domain served by this installation: its bundle comes from the event log. */
export interface InternalFederationPeer {
  readonly kind: 'internal';
  /** The peer's `td-…` id (same organization). */
  readonly trustDomainId: string;
  /** The peer's SPIFFE trust domain name. */
  readonly trustDomain: string;
}

/** A peer trust domain elsewhere, reached at its bundle endpoint URL. */
export interface ExternalFederationPeer {
  readonly kind: 'external';
  /** The peer's SPIFFE trust domain name. */
  readonly trustDomain: string;
  /** `https://…` URL of its SPIFFE bundle endpoint (inside the operator's allow-list). */
  readonly bundleEndpointUrl: string;
  readonly profile: BundleEndpointProfile;
  /** For `https_spiffe`: the SPIFFE ID the endpoint's X.509-SVID must carry. */
  readonly endpointSpiffeId?: string;
  /**
   * For `https_spiffe`: the peer's bundle to trust before the first fetch (SPIFFE bundle JSON,
   * public keys only, as the operator supplied it after validation).
   */
  readonly bootstrapBundle?: string;
}

/** Either kind of peer. */
export type FederationPeer = InternalFederationPeer | ExternalFederationPeer;

/**
 * A trust domain of this organization now trusts a peer trust domain's bundle (one-way: its
 * workloads receive the peer's bundle; nothing of ours changes for the peer).
 */
export type FederationCreated = EventDefinition<
  'federation.created',
  1,
  {
    /** Our trust domain (`td-…`) that trusts the peer. */
    readonly trustDomainId: string;
    readonly trustDomain: string;
    readonly peer: FederationPeer;
  }
>;

/** An operator asked for the peer's bundle to be fetched now rather than at its refresh hint. */
export type FederationRefreshRequested = EventDefinition<'federation.refresh_requested', 1, { readonly requestedAt: string }>;

/** The relationship was removed: the peer's bundle is no longer handed to our workloads. */
export type FederationDeleted = EventDefinition<'federation.deleted', 1, { readonly trustDomainId: string; readonly peerTrustDomain: string }>;

/** Every event of the `federation` aggregate. */
export type FederationEvent = FederationCreated | FederationRefreshRequested | FederationDeleted;

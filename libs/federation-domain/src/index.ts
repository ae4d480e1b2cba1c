// Public surface of @trustplane/federation-domain: the federation relationship decider and the
// validation of peers. Pure code, no I/O.
export { FEDERATION, FEDERATION_ID, federationDecider, federationId, type FederationCommand, type FederationState } from './federation.js';
export {
  BUNDLE_ENDPOINT_PROFILES,
  MAX_BOOTSTRAP_BUNDLE_BYTES,
  MAX_BUNDLE_ENDPOINT_URL_LENGTH,
  bundleEndpointUrlProblems,
  parseBootstrapBundle,
  parseBundleEndpointPrefixes,
  peerTrustDomainProblems,
  urlUnderPrefix,
  validateExternalPeer,
  type ExternalPeerInput,
  type FederationFieldProblem,
  type FederationPolicy,
} from './peer.js';
export { FEDERATED_BUNDLE, federatedBundleDecider, sameBundle, type FederatedBundleState, type RecordFederatedBundle } from './federated-bundle.js';

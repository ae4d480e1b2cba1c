export { federationConfigSchema, loadFederationConfig, type FederationConfig } from './config.js';
export { startFederation, type FederationService } from './server.js';
export { BundleDirectory, type Lookup, type PublishedEntry } from './directory.js';
export {
  PRIVATE_JWK_MEMBERS,
  discoveryOf,
  documentsOf,
  issuerOf,
  jwksOf,
  privateMembersIn,
  spiffeBundleOf,
} from './documents.js';

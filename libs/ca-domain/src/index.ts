/**
 * @trustplane/ca-domain: the pure domain of the CA. Per trust domain deployment, keysets (one
 * X.509 CA + one JWT key, as public material and key handles), their lifecycle as a decider,
 * SPIRE's rotation schedule as pure functions of `now`, and the trust bundle of a trust domain.
 * No I/O, no timers, no private keys.
 */
export { caError, type CaErrorCode } from './errors.js';
export {
  CA_KEY_TYPES,
  DEFAULT_CA_SETTINGS,
  resolveCaSettings,
  type CaSettings,
} from './settings.js';
export {
  ACTIVATE_LEAD_CAP_MS,
  PREPARE_LEAD_CAP_MS,
  X509_INCLUSIVE_END_MS,
  activationThreshold,
  activeKeyset,
  dropThreshold,
  findKeyset,
  inBundle,
  initialCaState,
  keyHandlesFor,
  keysetStatusAfter,
  lastSvidExpiry,
  preparationThreshold,
  preparedKeyset,
  retiredKeysetStatus,
  type CaState,
  type DropThreshold,
  type Keyset,
} from './keyset.js';
export { CA, caDecider, type CaCommand, type PrepareKeysetCommand } from './ca.js';
export { reportedCaState } from './reported.js';
export {
  jwtSvidTtl,
  newKeysetValidity,
  nextDueAt,
  rotationActions,
  x509SvidTtl,
  type RotationAction,
  type SvidTtl,
} from './schedule.js';
export {
  BUNDLE,
  bundleDecider,
  bundleKeys,
  bundleKeysets,
  computeTrustBundle,
  type BundleCommand,
  type BundleKeyset,
  type BundleState,
  type PublishBundleCommand,
  type TrustBundle,
  type TrustBundleInput,
} from './bundle.js';
export {
  DEFAULT_ROTATION_BACKOFF,
  afterFailure,
  mayRetry,
  retryDelayMs,
  type RetryBackoff,
  type RetryState,
} from './retry.js';

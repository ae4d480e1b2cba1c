// Public surface of @trustplane/spiffe: SPIFFE ID and trust domain rules (SPIFFE-ID spec),
// selectors, resource IDs and registration entry validation. Pure code, no I/O.
// Internal helpers (text.ts, the SpiffeId implementation class, checkTrustDomain) stay private.

export type { Result, CodedError } from './result.js';
export { ok, err, unwrap, SpiffeValidationError } from './result.js';
export type { PositionedError, CharError, LimitError, PlainError } from './errors.js';

export type { TrustDomain, TrustDomainError, TrustDomainErrorCode } from './trust-domain.js';
export { MAX_TRUST_DOMAIN_BYTES, parseTrustDomain, isTrustDomain } from './trust-domain.js';

export type {
  SpiffeId,
  SpiffeIdError,
  SpiffeIdErrorCode,
  SchemeError,
  TrustDomainKeyError,
} from './spiffe-id.js';
export {
  SPIFFE_SCHEME_PREFIX,
  MAX_SPIFFE_ID_BYTES,
  parseSpiffeId,
  isSpiffeId,
  isSpiffeIdString,
  spiffeIdFromParts,
  isMemberOf,
  parseTrustDomainKey,
  trustDomainKey,
} from './spiffe-id.js';

export type { Selector, SelectorError, SelectorErrorCode } from './selector.js';
export {
  MAX_SELECTOR_TYPE_BYTES,
  MAX_SELECTOR_VALUE_BYTES,
  parseSelector,
  selectorFromParts,
  formatSelector,
  compareSelectors,
  canonicalSelectors,
  selectorsMatch,
} from './selector.js';

export type {
  ResourceKind,
  ResourceId,
  RandomBytes,
  ResourceIdError,
  ResourceIdErrorCode,
  OrganizationId,
  TrustDomainId,
  DeploymentId,
  DeploymentKeyId,
  ClusterId,
  ClusterConfigVersionId,
  EntryId,
  AgentId,
  ApiTokenId,
} from './resource-id.js';
export {
  RESOURCE_ID_PREFIXES,
  RESOURCE_KINDS,
  RESOURCE_ID_RANDOM_LENGTH,
  RESOURCE_ID_ALPHABET,
  newResourceId,
  randomResourceSuffix,
  parseResourceId,
  isResourceId,
  resourceKindOf,
} from './resource-id.js';

export { RESERVED_SPIFFE_PATH_SEGMENTS, isReservedPathSegment, isReservedSpiffeId } from './reserved-path.js';
export type { DnsNameError, DnsNameErrorCode } from './dns-name.js';
export { MAX_DNS_NAME_LENGTH, MAX_DNS_LABEL_LENGTH, isDnsName, parseDnsName } from './dns-name.js';

export type {
  SelectorInput,
  RegistrationEntryInput,
  RegistrationEntry,
  EntryRuleCode,
  EntryErrorCode,
  EntryFieldError,
  EntryValidationOptions,
} from './registration-entry.js';
export {
  X509_SVID_TTL_MIN_SECONDS,
  X509_SVID_TTL_MAX_SECONDS,
  JWT_SVID_TTL_MIN_SECONDS,
  JWT_SVID_TTL_MAX_SECONDS,
  MAX_ENTRY_SELECTORS,
  MAX_ENTRY_DNS_NAMES,
  MAX_ENTRY_FEDERATES_WITH,
  MAX_ENTRY_HINT_LENGTH,
  DEFAULT_RESERVED_PATH_SEGMENTS,
  validateRegistrationEntry,
} from './registration-entry.js';
export { bundleX509AuthoritiesPem, certificatesPem, type SpiffeBundleDocument } from './bundle.js';

export { looksLikeResourceId } from './resource-id.js';
export type { TextRule, TextErrorCode, TextError, JsonTextRule, JsonTextError } from './text-rule.js';
export { checkText, checkJsonText } from './text-rule.js';

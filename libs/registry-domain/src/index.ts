export {
  ORGANIZATION,
  ORGANIZATION_NAME_MAX,
  organizationDecider,
  organizationNameOf,
  validateOrganizationName,
  type OrganizationCommand,
  type OrganizationState,
} from './organization.js';
export {
  TRUST_DOMAIN,
  TRUST_DOMAIN_DESCRIPTION_MAX,
  trustDomainDecider,
  blockersMessage,
  validateTrustDomainName,
  type TrustDomainBlocker,
  type TrustDomainCommand,
  type TrustDomainEvent,
  type TrustDomainState,
} from './trust-domain.js';
export {
  TRUST_DOMAIN_NAME,
  trustDomainNameDecider,
  trustDomainNameKey,
  type TrustDomainNameCommand,
  type TrustDomainNameState,
} from './trust-domain-name.js';
export { DEPLOYMENT, DEPLOYMENT_REGION_MAX, deploymentDecider, validateDeploymentName, type DeploymentCommand, type DeploymentState } from './deployment.js';
export {
  CLUSTER,
  CLUSTER_PLATFORMS,
  CLUSTER_CONFIG_VERSIONS_KEPT,
  CLUSTER_DESCRIPTION_MAX,
  clusterDecider,
  type ClusterCommand,
  type ClusterState,
} from './cluster.js';
export { ENTRY, RESERVED_ENTRY_PATHS, entryDecider, entryInputOf, type EntryCommand, type EntryState } from './entry.js';
export {
  API_TOKEN,
  API_SCOPES,
  API_TOKEN_MAX_TTL_DAYS,
  API_TOKEN_NAME_MAX,
  apiTokenDecider,
  hashTokenSecret,
  impliedScopes,
  scopesCover,
  mintToken,
  parseToken,
  tokenSecretMatches,
  type ApiTokenCommand,
  type ApiTokenState,
  type MintedToken,
  type TokenAuthority,
} from './api-token.js';
export {
  AGENT_LOG_LEVELS,
  AGENT_SVID_TTL_BOUNDS,
  CONFIG_SCHEMAS,
  CONFIG_SECTION,
  CONFIG_SECTIONS,
  CONFIG_TARGET_KINDS,
  configSectionDecider,
  configSectionId,
  isConfigTargetKind,
  validateAgentSpec,
  type ConfigFieldProblem,
  type ConfigSectionCommand,
  type ConfigSectionEvent,
  type ConfigSectionState,
  type ConfigSectionValidators,
  type SectionValidation,
  type SectionValidator,
} from './config-section.js';
export { type ClusterEvent, type ClusterPublicKey } from './cluster.js';
export {
  CLUSTER_KEY_ID_PREFIX,
  JOIN_TOKEN_ID_PREFIX,
  isJoinTokenId,
  derivedJoinTokenId,
  derivedResourceId,
  derivedResourceSuffix,
  newClusterKeyId,
  newJoinTokenId,
  type RandomSource,
} from './ids.js';
export {
  JOIN_TOKEN,
  JOIN_TOKEN_DEFAULT_TTL_SECONDS,
  JOIN_TOKEN_TTL_BOUNDS,
  joinTokenDecider,
  joinTokenMatches,
  mintJoinToken,
  parseJoinToken,
  type JoinTokenCommand,
  type JoinTokenEvent,
  type JoinTokenState,
  type MintedJoinToken,
} from './join-token.js';
export {
  AGENT,
  AGENT_ATTESTATION_METHODS,
  NODE_NAME_MAX,
  BAN_REASON_MAX,
  agentDecider,
  agentIdFor,
  agentSpiffeId,
  isAgentId,
  isValidNodeName,
  validateNodeName,
  type AgentCommand,
  type AgentEvent,
  type AgentState,
} from './agent.js';
export { CONFIG_DOCUMENT_MAX_DEPTH, checkConfigDocument, checkTextField, refuseIdLikeName } from './text.js';
export { AGENT_ROW_COLUMNS, agentRowKey, foldAgentRow, type AgentRow } from './agent-read-model.js';
export { API_TOKEN_ROW_COLUMNS, apiTokenRowKey, foldApiTokenRow, type ApiTokenRow } from './api-token-read-model.js';

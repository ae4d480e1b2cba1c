/**
 * @trustplane/auth-client: the two ends of the deployment-key credential exchange. A self-hosted
 * server signs an assertion with its deployment key and exchanges it for a control-plane
 * credential; the control plane's routes verify that credential against the auth service's JWKS.
 */
export {
  ASSERTION_MAX_LIFETIME_SECONDS,
  CLOCK_SKEW_SECONDS,
  CONTROL_PLANE_AUDIENCE,
  CREDENTIAL_ALGORITHMS,
  CREDENTIAL_MAX_LIFETIME_SECONDS,
  EXCHANGE_PATH,
  JWKS_PATH,
  isDeploymentId,
  isDeploymentKeyId,
  isOrganizationId,
  isTrustDomainId,
} from './contract.js';
export { AuthClientError, isAuthClientError, type AuthClientErrorCode } from './errors.js';
export { signDeploymentAssertion, type DeploymentAssertionInput } from './assertion.js';
export { fetchControlPlaneCredential, type ControlPlaneCredential, type FetchCredentialOptions } from './exchange.js';
export {
  controlPlaneJwks,
  verifyControlPlaneCredential,
  type CredentialKeyResolver,
  type VerifiedControlPlaneCredential,
} from './verify.js';
export {
  AUTH_RESPONSE_SCHEMAS,
  AuditAnchorSchema,
  AuditQuerySchema,
  AuditRecordSchema,
  AuditVerdictSchema,
  CredentialJwksSchema,
  DeploymentCredentialSchema,
  DeploymentKeySchema,
  ExchangeCredentialBody,
  NewDeploymentKeySchema,
  type DeploymentCredentialView,
  type DeploymentKeyView,
  type NewDeploymentKeyView,
} from './api-schemas.js';

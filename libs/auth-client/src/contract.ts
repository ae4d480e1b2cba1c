import { isResourceId } from '@trustplane/spiffe';

/** `aud` of assertions and `iss` / `aud` of control-plane credentials. */
export const CONTROL_PLANE_AUDIENCE = 'trustplane-control-plane';
/** Longest accepted assertion lifetime (`exp − iat`), in seconds. */
export const ASSERTION_MAX_LIFETIME_SECONDS = 300;
/** Clock skew tolerated between a self-hosted server and the control plane, in seconds. */
export const CLOCK_SKEW_SECONDS = 30;
/** Longest control-plane credential lifetime, in seconds (24 h). */
export const CREDENTIAL_MAX_LIFETIME_SECONDS = 86_400;
/** Algorithms control-plane credentials are signed with. */
export const CREDENTIAL_ALGORITHMS = ['ES256', 'EdDSA'] as const;
/** The exchange route, relative to the control plane's base URL. */
export const EXCHANGE_PATH = '/api/v1/auth/deployment-credentials';
/** The route of the credentials' verification keys. */
export const JWKS_PATH = '/api/v1/auth/jwks';

/** True for a well-formed deployment id (`tdd-…`). */
export const isDeploymentId = (value: unknown): value is string => typeof value === 'string' && isResourceId('deployment', value);
/** True for a well-formed deployment key id (`tdk-…`). */
export const isDeploymentKeyId = (value: unknown): value is string => typeof value === 'string' && isResourceId('deploymentKey', value);
/** True for a well-formed trust domain id (`td-…`). */
export const isTrustDomainId = (value: unknown): value is string => typeof value === 'string' && isResourceId('trustDomain', value);
/** True for a well-formed organization id (`t-…`). */
export const isOrganizationId = (value: unknown): value is string => typeof value === 'string' && isResourceId('organization', value);

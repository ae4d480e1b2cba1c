// The API-token guard is shared by every REST service (libs/api-kit).
export { ApiTokenGuard, REQUIRED_SCOPE, RequireScope, type RouteRequirement } from '@trustplane/api-kit';

// Tenant-scoped database access is shared by every REST service (libs/api-kit).
export { TenantDb } from '@trustplane/api-kit';

export { startRegistry, type RegistryServer } from './server.js';
export { loadRegistryConfig, registryConfigSchema, type RegistryConfig } from './config.js';
export { organizationProjection } from './organizations/organization.projection.js';
export { registryMigrations } from './migrations/index.js';
export { registryProjections } from './projections.js';
export { bootstrapOrganization, bootstrapToken } from './bootstrap.js';

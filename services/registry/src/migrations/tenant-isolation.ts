// Row-level security of tenant tables is set up alike by every service (libs/api-kit).
export { isolateTenantTable } from '@trustplane/api-kit';

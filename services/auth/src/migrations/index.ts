import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface } from 'typeorm';
import { AuthInitial1700000000000 } from './1700000000000-auth-initial.js';
import { AuditChain1700000000001 } from './1700000000001-audit-chain.js';
import { AuditSpool1700000000002 } from './1700000000002-audit-spool.js';

/** The auth service's migrations, in order, bound to its schema and API role. */
export function authMigrations(schema: string, apiRole = 'tp_auth_api'): (new () => MigrationInterface)[] {
  return [bindMigration(AuthInitial1700000000000, schema, apiRole), bindMigration(AuditChain1700000000001, schema, apiRole), bindMigration(AuditSpool1700000000002, schema)];
}

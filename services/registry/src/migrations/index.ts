import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface } from 'typeorm';
import { Initial1700000000000 } from './1700000000000-initial.js';
import { RegistryModel1700000000001 } from './1700000000001-registry-model.js';
import { ConfigSections1700000000002 } from './1700000000002-config-sections.js';
import { Agents1700000000003 } from './1700000000003-agents.js';
import { IdempotencyAndNames1700000000004 } from './1700000000004-idempotency-and-names.js';
import { KeysetsAndAgents1700000000005 } from './1700000000005-keysets-and-agents.js';
import { Sync1700000000006 } from './1700000000006-sync.js';
import { DeploymentKeys1700000000120 } from './1700000000120-deployment-keys.js';
import { AuditSpool1700000000130 } from './1700000000130-audit-spool.js';
import { Federations1700000000007 } from './1700000000007-federations.js';

/** The registry's migrations, in order, bound to its schema and API role. */
export function registryMigrations(schema: string, apiRole = 'tp_registry_api'): (new () => MigrationInterface)[] {
  return [
    bindMigration(Initial1700000000000, schema),
    bindMigration(RegistryModel1700000000001, schema, apiRole),
    bindMigration(ConfigSections1700000000002, schema, apiRole),
    bindMigration(Agents1700000000003, schema, apiRole),
    bindMigration(IdempotencyAndNames1700000000004, schema, apiRole),
    bindMigration(KeysetsAndAgents1700000000005, schema, apiRole),
    bindMigration(Sync1700000000006, schema, apiRole),
    bindMigration(Federations1700000000007, schema, apiRole),
    bindMigration(DeploymentKeys1700000000120, schema, apiRole),
    bindMigration(AuditSpool1700000000130, schema),
  ];
}

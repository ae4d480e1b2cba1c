import type { MigrationInterface } from 'typeorm';
import { Initial1700000000000 } from './1700000000000-initial.js';
import { RegistryModel1700000000001 } from './1700000000001-registry-model.js';
import { ConfigSections1700000000002 } from './1700000000002-config-sections.js';
import { Agents1700000000003 } from './1700000000003-agents.js';

/** A migration class whose constructor takes the schema it migrates. */
type SchemaMigration = new (schema: string, apiRole: string) => MigrationInterface;

/** Binds a schema-parameterized migration class to one schema (TypeORM instantiates classes). */
function bindSchema(migration: SchemaMigration, schema: string, apiRole: string): new () => MigrationInterface {
  const bound = class extends migration {
    constructor() {
      super(schema, apiRole);
    }
  };
  Object.defineProperty(bound, 'name', { value: migration.name });
  return bound;
}

/** The registry's migrations, in order, bound to its schema. */
export function registryMigrations(schema: string, apiRole = 'tp_registry_api'): (new () => MigrationInterface)[] {
  return [
    bindSchema(Initial1700000000000, schema, apiRole),
    bindSchema(RegistryModel1700000000001, schema, apiRole),
    bindSchema(ConfigSections1700000000002, schema, apiRole),
    bindSchema(Agents1700000000003, schema, apiRole),
  ];
}

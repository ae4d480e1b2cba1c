import type { MigrationInterface } from 'typeorm';
import { Initial1700000000000 } from './1700000000000-initial.js';

/** A migration class whose constructor takes the schema it migrates. */
type SchemaMigration = new (schema: string) => MigrationInterface;

/** Binds a schema-parameterized migration class to one schema (TypeORM instantiates classes). */
function bindSchema(migration: SchemaMigration, schema: string): new () => MigrationInterface {
  const bound = class extends migration {
    constructor() {
      super(schema);
    }
  };
  Object.defineProperty(bound, 'name', { value: migration.name });
  return bound;
}

/** The registry's migrations, in order, bound to its schema. */
export function registryMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindSchema(Initial1700000000000, schema)];
}

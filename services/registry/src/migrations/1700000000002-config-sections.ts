import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** Tables added by this migration; like every read-model table they carry `tenant_id` under RLS. */
export const CONFIG_SECTION_TABLES = ['config_sections'] as const;

/**
 * The read model of config sections (`configsection.set`): the current document of each
 * target's section, guarded by the same tenant policy as the other read-model tables.
 */
export class ConfigSections1700000000002 implements MigrationInterface {
  name = 'ConfigSections1700000000002';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.config_sections (
        id text PRIMARY KEY, tenant_id text NOT NULL, target_kind text NOT NULL, target_id text NOT NULL,
        trust_domain_id text NOT NULL, section text NOT NULL, schema text NOT NULL, spec jsonb NOT NULL,
        config_version integer NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE UNIQUE INDEX config_sections_target ON ${s}.config_sections (tenant_id, target_id, section);
    `);
    for (const table of CONFIG_SECTION_TABLES) {
      await isolateTenantTable(q, this.schema, table, this.apiRole);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of CONFIG_SECTION_TABLES) await q.query(`DROP TABLE IF EXISTS "${this.schema}".${table}`);
  }
}

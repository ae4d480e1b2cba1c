import type { MigrationInterface, QueryRunner } from 'typeorm';

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
      await q.query(`ALTER TABLE ${s}.${table} ENABLE ROW LEVEL SECURITY`);
      await q.query(
        `CREATE POLICY tenant_isolation ON ${s}.${table}
           USING (tenant_id = current_setting('app.tenant', true))
           WITH CHECK (tenant_id = current_setting('app.tenant', true))`,
      );
      await q.query(`GRANT SELECT ON ${s}.${table} TO "${this.apiRole}"`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of CONFIG_SECTION_TABLES) await q.query(`DROP TABLE IF EXISTS "${this.schema}".${table}`);
  }
}

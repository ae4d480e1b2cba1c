import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** The tables of the `registry.model` projection when this migration was written. */
const MODEL_TABLES = [
  'trust_domains',
  'deployments',
  'clusters',
  'cluster_config_versions',
  'entries',
  'api_tokens',
  'config_sections',
  'cluster_keys',
  'join_tokens',
  'agents',
  'deployment_keysets',
  'sync_positions',
] as const;

/**
 * Self-hosted sync. `sync_positions`: per trust domain, the stream sequence of the last event
 * that changed what its self-hosted deployments are sent (the position of the sync stream).
 * `deployments` gains what their reports say: the trust domain's position at the deployment
 * (`sync_position`), the position it was last configured at and when, the last report's time,
 * status and public CA keysets.
 *
 * The new columns must hold what the log already says, so the `registry.model` projection is
 * replayed (its tables emptied, its checkpoint set to 0).
 */
export class Sync1700000000006 implements MigrationInterface {
  name = 'Sync1700000000006';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.sync_positions (id text PRIMARY KEY, tenant_id text NOT NULL, position bigint NOT NULL);
      ALTER TABLE ${s}.deployments
        ADD COLUMN sync_position bigint NOT NULL DEFAULT 0,
        ADD COLUMN configured_position bigint NOT NULL DEFAULT 0,
        ADD COLUMN configured_at timestamptz,
        ADD COLUMN applied_position bigint,
        ADD COLUMN reported_at timestamptz,
        ADD COLUMN report_status jsonb,
        ADD COLUMN reported_keysets jsonb NOT NULL DEFAULT '[]'::jsonb;
    `);
    await isolateTenantTable(q, this.schema, 'sync_positions', this.apiRole);
    await q.query(`TRUNCATE ${MODEL_TABLES.map((table) => `${s}.${table}`).join(', ')}`);
    await q.query(`UPDATE ${s}.projection_checkpoints SET stream_seq = 0 WHERE projection = 'registry.model'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`DROP TABLE IF EXISTS ${s}.sync_positions`);
    await q.query(`ALTER TABLE ${s}.deployments DROP COLUMN IF EXISTS sync_position, DROP COLUMN IF EXISTS configured_position,
      DROP COLUMN IF EXISTS configured_at, DROP COLUMN IF EXISTS applied_position, DROP COLUMN IF EXISTS reported_at,
      DROP COLUMN IF EXISTS report_status, DROP COLUMN IF EXISTS reported_keysets`);
  }
}

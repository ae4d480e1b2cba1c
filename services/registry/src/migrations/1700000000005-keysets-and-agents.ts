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
] as const;

/**
 * `deployment_keysets`: the status of every CA keyset of every deployment (from `ca.*`), from
 * which a deployment's `active_keys` is counted. `agents.previous_serial_number`: the registry's
 * agents table takes the shape both read models share (libs/registry-domain `AgentRow`).
 *
 * The new table must hold what the log already says, so the `registry.model` projection is
 * replayed: its tables are emptied and its checkpoint set to 0, and the runner replays the log
 * from sequence 1 at start (seconds for a log of hundreds of thousands of events; until then
 * the API shows fewer resources than exist).
 */
export class KeysetsAndAgents1700000000005 implements MigrationInterface {
  name = 'KeysetsAndAgents1700000000005';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.deployment_keysets (
        id text PRIMARY KEY, tenant_id text NOT NULL, deployment_id text NOT NULL, keyset_id text NOT NULL,
        status text NOT NULL, version bigint NOT NULL);
      CREATE INDEX deployment_keysets_deployment ON ${s}.deployment_keysets (deployment_id, status);
      ALTER TABLE ${s}.agents ADD COLUMN previous_serial_number text;
    `);
    await isolateTenantTable(q, this.schema, 'deployment_keysets', this.apiRole);
    await q.query(`TRUNCATE ${MODEL_TABLES.map((table) => `${s}.${table}`).join(', ')}`);
    await q.query(`UPDATE ${s}.projection_checkpoints SET stream_seq = 0 WHERE projection = 'registry.model'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`DROP TABLE IF EXISTS ${s}.deployment_keysets`);
    await q.query(`ALTER TABLE ${s}.agents DROP COLUMN IF EXISTS previous_serial_number`);
  }
}

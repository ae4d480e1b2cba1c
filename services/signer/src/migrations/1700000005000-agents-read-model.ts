import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables of the `signer.model` projection when this migration was written. */
const MODEL_TABLES = [
  'trust_domains',
  'deployments',
  'keysets',
  'bundles',
  'key_managers',
  'clusters',
  'cluster_keys',
  'join_tokens',
  'agents',
  'entries',
  'entry_revisions',
] as const;

/**
 * The signer's `agents` table takes the shape the registry's has (libs/registry-domain
 * `AgentRow`, one fold for both): ban reason, attestation time, created and updated times.
 * The new columns must hold what the log says, so the `signer.model` projection is replayed:
 * its tables are emptied and its checkpoint set to 0, and the runner replays the log from
 * sequence 1 at start (CA decisions are taken on the log, never on these tables; agents are
 * refused until their rows are back, and retry).
 */
export class SignerAgentsReadModel1700000005000 implements MigrationInterface {
  name = 'SignerAgentsReadModel1700000005000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`TRUNCATE ${MODEL_TABLES.map((table) => `${s}.${table}`).join(', ')}`);
    await q.query(`
      ALTER TABLE ${s}.agents
        ADD COLUMN ban_reason text,
        ADD COLUMN attested_at timestamptz NOT NULL,
        ADD COLUMN created_at timestamptz NOT NULL,
        ADD COLUMN updated_at timestamptz NOT NULL;
    `);
    await q.query(`UPDATE ${s}.projection_checkpoints SET stream_seq = 0 WHERE projection = 'signer.model'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${this.schema}".agents DROP COLUMN ban_reason, DROP COLUMN attested_at, DROP COLUMN created_at, DROP COLUMN updated_at`);
  }
}

/** The agents read-model migration bound to the signer's schema. */
export function agentsReadModelMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerAgentsReadModel1700000005000, schema)];
}

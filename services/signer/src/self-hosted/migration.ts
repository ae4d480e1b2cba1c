import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `sync_applied`: the control-plane position a self-hosted signer has applied (its stream
 * resumes from there after a restart). Not a projection table: the local log does not hold it.
 */
export class SignerSyncApplied1700000007000 implements MigrationInterface {
  name = 'SignerSyncApplied1700000007000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "${this.schema}".sync_applied (id text PRIMARY KEY, position bigint NOT NULL, applied_at timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".sync_applied`);
  }
}

/** The self-hosted migration bound to the signer's schema. */
export function syncAppliedMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerSyncApplied1700000007000, schema)];
}

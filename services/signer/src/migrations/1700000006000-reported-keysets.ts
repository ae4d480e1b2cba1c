import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `reported_keysets`: per self-hosted deployment, the public CA keysets its signer last
 * reported (`deployment.reported`), from which this signer builds the trust domain's bundle
 * together with its managed deployments' keysets. The table must hold what the log already
 * says, so the `signer.model` projection replays from sequence 1 (its tables are emptied).
 */
export class SignerReportedKeysets1700000006000 implements MigrationInterface {
  name = 'SignerReportedKeysets1700000006000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.reported_keysets (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, keysets jsonb NOT NULL, version bigint NOT NULL);
      CREATE INDEX reported_keysets_trust_domain ON ${s}.reported_keysets (trust_domain_id);
    `);
    const tables = ['trust_domains', 'deployments', 'keysets', 'bundles', 'key_managers', 'clusters', 'cluster_keys', 'join_tokens', 'agents', 'entries', 'entry_revisions'];
    await q.query(`TRUNCATE ${tables.map((table) => `${s}.${table}`).join(', ')}`);
    await q.query(`UPDATE ${s}.projection_checkpoints SET stream_seq = 0 WHERE projection = 'signer.model'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".reported_keysets`);
  }
}

/** The reported-keysets migration bound to the signer's schema. */
export function reportedKeysetsMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerReportedKeysets1700000006000, schema)];
}

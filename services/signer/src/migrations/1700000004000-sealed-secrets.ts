import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Secrets given through the API (a webhook key manager's bearer token), sealed with AES-256-GCM
 * under a key derived from the signer's key-encryption key and bound to their organization and
 * deployment. Config sections (and so events and read models) carry only the reference. Not a
 * projection: the rows are written by the signer when it seals, never rebuilt from the log.
 */
export class SignerSealedSecrets1700000004000 implements MigrationInterface {
  name = 'SignerSealedSecrets1700000004000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${this.schema}".sealed_secrets (
        id text PRIMARY KEY, tenant_id text NOT NULL, deployment_id text NOT NULL, purpose text NOT NULL,
        sealed jsonb NOT NULL, created_at timestamptz NOT NULL);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".sealed_secrets`);
  }
}

/** The sealed-secret table migration bound to the signer's schema. */
export function sealedSecretMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerSealedSecrets1700000004000, schema)];
}

import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Nonces of accepted cluster-key assertions, shared by every signer instance so an assertion
 * cannot be replayed against another replica. Operational state, not a projection: rows expire
 * with the assertion's freshness window and are never rebuilt from the log.
 */
export class SignerAttestationNonces1700000003000 implements MigrationInterface {
  name = 'SignerAttestationNonces1700000003000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.attestation_nonces (
        cluster_id text NOT NULL, nonce text NOT NULL, expires_at timestamptz NOT NULL,
        PRIMARY KEY (cluster_id, nonce));
      CREATE INDEX attestation_nonces_expiry ON ${s}.attestation_nonces (expires_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".attestation_nonces`);
  }
}

/** The nonce table migration bound to the signer's schema. */
export function attestationNonceMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerAttestationNonces1700000003000, schema)];
}

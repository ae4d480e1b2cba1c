import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The signer's read model of federation relationships and the peer bundles recorded for them
 * (`federation.*` from the registry, `federatedbundle.updated` from the federation service), one
 * row per relationship: what the bundle stream hands agents as federated bundles. New aggregate
 * types, so nothing earlier in the log needs replaying.
 */
export class SignerFederations1700000008000 implements MigrationInterface {
  name = 'SignerFederations1700000008000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.federations (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL,
        peer_kind text NOT NULL, peer_trust_domain text NOT NULL, peer_trust_domain_id text,
        deleted boolean NOT NULL, document jsonb, version bigint NOT NULL);
      CREATE INDEX federations_trust_domain ON ${s}.federations (trust_domain_id) WHERE NOT deleted;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".federations`);
  }
}

/** This migration bound to the signer's schema. */
export function federationMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerFederations1700000008000, schema)];
}

import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { eventstoreTablesSql } from '@trustplane/eventstore';

/** The signer's read models: the deployments it serves and the trust bundles it published. */
export class Signer1700000001000 implements MigrationInterface {
  name = 'Signer1700000001000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(eventstoreTablesSql(this.schema));
    await q.query(`
      CREATE TABLE ${s}.trust_domains (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, kind text NOT NULL);
      CREATE TABLE ${s}.deployments (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, managed boolean NOT NULL);
      CREATE INDEX deployments_td ON ${s}.deployments (trust_domain_id);
      CREATE TABLE ${s}.keysets (
        id text PRIMARY KEY, tenant_id text NOT NULL, deployment_id text NOT NULL, trust_domain_id text NOT NULL,
        keyset_id text NOT NULL, status text NOT NULL, key_type text NOT NULL,
        not_before timestamptz NOT NULL, not_after timestamptz NOT NULL, subject_key_id text NOT NULL,
        jwt_kid text NOT NULL, prepared_at timestamptz NOT NULL, activated_at timestamptz, version bigint NOT NULL);
      CREATE INDEX keysets_deployment ON ${s}.keysets (deployment_id);
      CREATE TABLE ${s}.bundles (
        id text PRIMARY KEY, tenant_id text NOT NULL, sequence bigint NOT NULL, document jsonb NOT NULL,
        updated_at timestamptz NOT NULL);
      CREATE TABLE ${s}.key_managers (
        id text PRIMARY KEY, tenant_id text NOT NULL, spec jsonb NOT NULL, version bigint NOT NULL);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    for (const table of ['key_managers', 'bundles', 'keysets', 'deployments', 'trust_domains'])
      await q.query(`DROP TABLE IF EXISTS ${s}.${table}`);
  }
}

/** The signer's migrations bound to its schema. */
export function signerMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(Signer1700000001000, schema)];
}

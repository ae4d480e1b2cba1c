import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** Tables added or put under tenant isolation by this migration. */
export const IDEMPOTENCY_TABLES = ['idempotency_keys', 'trust_domain_names'] as const;

/**
 * Idempotency records become tenant data with an end: row-level security like every tenant
 * table (the API role reads and writes them only for the transaction's tenant), an expiry, a
 * claim that lapses (so a crashed request does not hold its key forever), and a flag for
 * responses whose secret was withheld. Every record written before this migration is dropped:
 * those held whole responses, including shown-once secrets.
 *
 * `trust_domain_names` is the read model of trust domain name reservations, which the
 * reconciler uses to find reservations whose trust domain was never created or is gone.
 */
export class IdempotencyAndNames1700000000004 implements MigrationInterface {
  name = 'IdempotencyAndNames1700000000004';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`DELETE FROM ${s}.idempotency_keys`);
    await q.query(`
      ALTER TABLE ${s}.idempotency_keys
        ADD COLUMN claim_id text,
        ADD COLUMN claimed_until timestamptz,
        ADD COLUMN expires_at timestamptz NOT NULL,
        ADD COLUMN secret_withheld boolean NOT NULL DEFAULT false;
      CREATE INDEX idempotency_keys_expiry ON ${s}.idempotency_keys (expires_at);
      CREATE TABLE ${s}.trust_domain_names (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, trust_domain_id text NOT NULL,
        reserved_at timestamptz NOT NULL);
      CREATE INDEX trust_domain_names_reserved ON ${s}.trust_domain_names (reserved_at);
    `);
    for (const table of IDEMPOTENCY_TABLES) await isolateTenantTable(q, this.schema, table, this.apiRole);
    await q.query(`GRANT INSERT, UPDATE, DELETE ON ${s}.idempotency_keys TO "${this.apiRole}"`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`DROP TABLE IF EXISTS ${s}.trust_domain_names`);
    await q.query(`REVOKE INSERT, UPDATE, DELETE ON ${s}.idempotency_keys FROM "${this.apiRole}"`);
    await q.query(`DROP POLICY IF EXISTS tenant_isolation ON ${s}.idempotency_keys`);
    await q.query(`ALTER TABLE ${s}.idempotency_keys DISABLE ROW LEVEL SECURITY`);
    await q.query(`DELETE FROM ${s}.idempotency_keys`);
    await q.query(`ALTER TABLE ${s}.idempotency_keys DROP COLUMN claim_id, DROP COLUMN claimed_until, DROP COLUMN expires_at, DROP COLUMN secret_withheld`);
  }
}

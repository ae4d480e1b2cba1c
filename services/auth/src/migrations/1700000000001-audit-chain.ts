import { isolateTenantTable } from '@trustplane/api-kit';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit chain: one hash-linked sequence of records per organization (`audit_records`, each
 * with the hash of the one before) and its head (`audit_heads`: newest seq and hash, and the seq
 * last anchored in the event log). Tenant tables: the API reads its organization's chain only.
 */
export class AuditChain1700000000001 implements MigrationInterface {
  name = 'AuditChain1700000000001';

  constructor(
    private readonly schema: string = 'auth',
    private readonly apiRole: string = 'tp_auth_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.audit_records (
        tenant_id text NOT NULL, seq bigint NOT NULL, record_id text NOT NULL, service text NOT NULL,
        actor_kind text NOT NULL, actor_id text NOT NULL, action text NOT NULL, resource text NOT NULL,
        outcome text NOT NULL, status integer NOT NULL, code text, occurred_at text NOT NULL,
        prev_hash text NOT NULL, hash text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, seq));
      CREATE UNIQUE INDEX audit_records_record ON ${s}.audit_records (tenant_id, record_id);
      CREATE INDEX audit_records_actor ON ${s}.audit_records (tenant_id, actor_id, seq);
      CREATE TABLE ${s}.audit_heads (
        tenant_id text PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL, anchored_seq bigint NOT NULL DEFAULT 0);
    `);
    for (const table of ['audit_records', 'audit_heads']) await isolateTenantTable(q, this.schema, table, this.apiRole);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${this.schema}".audit_records, "${this.schema}".audit_heads`);
  }
}

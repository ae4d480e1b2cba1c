import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** Tables added by this migration; like every read-model table they carry `tenant_id` under RLS. */
export const AGENT_TABLES = ['cluster_keys', 'join_tokens', 'agents'] as const;

/**
 * The read model of node attestation: clusters' public attestation keys
 * (`cluster.key_registered`), join tokens (salt and hash only, never the token, like
 * `api_tokens`) and node agents (`agent.*`), guarded by the same tenant policy as the other
 * read-model tables.
 */
export class Agents1700000000003 implements MigrationInterface {
  name = 'Agents1700000000003';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.cluster_keys (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, cluster_id text NOT NULL,
        public_key text NOT NULL, created_at timestamptz NOT NULL);
      CREATE INDEX cluster_keys_cluster ON ${s}.cluster_keys (tenant_id, cluster_id);
      CREATE TABLE ${s}.join_tokens (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, cluster_id text NOT NULL,
        salt text NOT NULL, hash text NOT NULL, expires_at timestamptz NOT NULL,
        used_at timestamptz, used_by_agent_id text, used_by_node_name text,
        version bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX join_tokens_cluster ON ${s}.join_tokens (tenant_id, cluster_id);
      CREATE TABLE ${s}.agents (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, cluster_id text NOT NULL,
        cluster_name text NOT NULL, node_name text NOT NULL, spiffe_id text NOT NULL, method text NOT NULL,
        serial_number text NOT NULL, expires_at timestamptz NOT NULL, banned boolean NOT NULL, ban_reason text,
        attested_at timestamptz NOT NULL, version bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX agents_trust_domain ON ${s}.agents (tenant_id, trust_domain_id, id);
    `);
    for (const table of AGENT_TABLES) {
      await isolateTenantTable(q, this.schema, table, this.apiRole);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of AGENT_TABLES) await q.query(`DROP TABLE IF EXISTS "${this.schema}".${table}`);
  }
}

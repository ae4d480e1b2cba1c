import { bindMigration } from '@trustplane/platform';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The read model behind the agent-facing API: clusters and their attestation public keys,
 * join tokens (salted hashes only), node agents, and the registration entries agents sync.
 */
export class SignerAgentApi1700000002000 implements MigrationInterface {
  name = 'SignerAgentApi1700000002000';

  constructor(private readonly schema: string = 'signer') {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.clusters (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, name text NOT NULL,
        status text NOT NULL, version bigint NOT NULL);
      CREATE INDEX clusters_td ON ${s}.clusters (trust_domain_id);
      CREATE TABLE ${s}.cluster_keys (
        id text PRIMARY KEY, tenant_id text NOT NULL, cluster_id text NOT NULL, trust_domain_id text NOT NULL,
        key_id text NOT NULL, public_key text NOT NULL);
      CREATE INDEX cluster_keys_cluster ON ${s}.cluster_keys (cluster_id);
      CREATE TABLE ${s}.join_tokens (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, cluster_id text NOT NULL,
        hash text NOT NULL, salt text NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz, agent_id text);
      CREATE TABLE ${s}.agents (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, cluster_id text NOT NULL,
        cluster_name text NOT NULL, node_name text NOT NULL, spiffe_id text NOT NULL, method text NOT NULL,
        serial_number text NOT NULL, previous_serial_number text, expires_at timestamptz NOT NULL,
        banned boolean NOT NULL, version bigint NOT NULL);
      CREATE INDEX agents_spiffe_id ON ${s}.agents (spiffe_id);
      CREATE TABLE ${s}.entries (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, spiffe_id text NOT NULL,
        parent_id text NOT NULL, selectors jsonb NOT NULL, x509_svid_ttl integer, jwt_svid_ttl integer,
        dns_names jsonb NOT NULL, federates_with jsonb NOT NULL, hint text, revision integer NOT NULL,
        version bigint NOT NULL);
      CREATE INDEX entries_parent ON ${s}.entries (trust_domain_id, parent_id);
      CREATE TABLE ${s}.entry_revisions (
        id text PRIMARY KEY, tenant_id text NOT NULL, revision bigint NOT NULL);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    for (const table of [
      'entry_revisions',
      'entries',
      'agents',
      'join_tokens',
      'cluster_keys',
      'clusters',
    ])
      await q.query(`DROP TABLE IF EXISTS ${s}.${table}`);
  }
}

/** The agent API migration bound to the signer's schema (runs after the first signer migration). */
export function agentApiMigrations(schema: string): (new () => MigrationInterface)[] {
  return [bindMigration(SignerAgentApi1700000002000, schema)];
}

import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isolateTenantTable } from './tenant-isolation.js';

/** Tables of the registry's read model; every one carries `tenant_id` and is guarded by RLS. */
export const TENANT_TABLES = [
  'organizations',
  'trust_domains',
  'deployments',
  'clusters',
  'cluster_config_versions',
  'entries',
  'api_tokens',
] as const;

/**
 * Trust domains, deployments, clusters, entries, API tokens and idempotency records.
 * Row-level security on every tenant table: rows are visible only when the transaction has
 * set `app.tenant` to their organization. The API reads through a role that is not the owner
 * and has no BYPASSRLS, so it cannot escape the policy.
 */
export class RegistryModel1700000000001 implements MigrationInterface {
  name = 'RegistryModel1700000000001';

  constructor(
    private readonly schema: string = 'registry',
    private readonly apiRole: string = 'tp_registry_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(`
      CREATE TABLE ${s}.trust_domains (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, description text NOT NULL,
        kind text NOT NULL, status text NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE UNIQUE INDEX trust_domains_tenant_name ON ${s}.trust_domains (tenant_id, name);
      CREATE TABLE ${s}.deployments (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, name text NOT NULL,
        region text NOT NULL, managed boolean NOT NULL, active_keys integer NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX deployments_td ON ${s}.deployments (tenant_id, trust_domain_id);
      CREATE TABLE ${s}.clusters (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, name text NOT NULL,
        platform text NOT NULL, description text NOT NULL, status text NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX clusters_td ON ${s}.clusters (tenant_id, trust_domain_id);
      CREATE TABLE ${s}.cluster_config_versions (
        id text PRIMARY KEY, tenant_id text NOT NULL, cluster_id text NOT NULL, config jsonb NOT NULL,
        created_at timestamptz NOT NULL);
      CREATE INDEX cluster_config_versions_cluster ON ${s}.cluster_config_versions (cluster_id, created_at DESC);
      CREATE TABLE ${s}.entries (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL,
        spiffe_id text NOT NULL, parent_id text NOT NULL, selectors text[] NOT NULL,
        x509_svid_ttl integer, jwt_svid_ttl integer, dns_names text[] NOT NULL, federates_with text[] NOT NULL,
        admin boolean NOT NULL, downstream boolean NOT NULL, hint text, expires_at timestamptz,
        revision integer NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX entries_td ON ${s}.entries (tenant_id, trust_domain_id, id);
      CREATE INDEX entries_parent ON ${s}.entries (trust_domain_id, parent_id);
      CREATE TABLE ${s}.api_tokens (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, scopes text[] NOT NULL,
        salt text NOT NULL, hash text NOT NULL, expires_at timestamptz, revoked boolean NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE TABLE ${s}.idempotency_keys (
        tenant_id text NOT NULL, key text NOT NULL, request_hash text NOT NULL,
        status integer, response jsonb, created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, key));
    `);
    await q.query(`
      DO $$ BEGIN
        CREATE ROLE "${this.apiRole}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$;`);
    await q.query(`GRANT CONNECT ON DATABASE "${await currentDatabase(q)}" TO "${this.apiRole}"`);
    await q.query(`GRANT USAGE ON SCHEMA ${s} TO "${this.apiRole}"`);
    for (const table of TENANT_TABLES) {
      await isolateTenantTable(q, this.schema, table, this.apiRole);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    for (const table of [...TENANT_TABLES.filter((t) => t !== 'organizations'), 'idempotency_keys']) {
      await q.query(`DROP TABLE IF EXISTS ${s}.${table}`);
    }
    await q.query(`DROP POLICY IF EXISTS tenant_isolation ON ${s}.organizations`);
    await q.query(`ALTER TABLE ${s}.organizations DISABLE ROW LEVEL SECURITY`);
  }
}

async function currentDatabase(q: QueryRunner): Promise<string> {
  const rows: { db: string }[] = await q.query('SELECT current_database() AS db');
  return rows[0]?.db ?? 'postgres';
}

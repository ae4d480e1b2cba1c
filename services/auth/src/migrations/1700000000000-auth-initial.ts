import { createApiRole, createIdempotencyTable, isolateTenantTable } from '@trustplane/api-kit';
import { eventstoreTablesSql } from '@trustplane/eventstore';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tables of the `auth.model` projection; each carries `tenant_id` and is guarded by RLS. */
export const AUTH_MODEL_TABLES = ['trust_domains', 'deployments', 'api_tokens', 'deployment_keys'] as const;

/**
 * The auth schema: its read model of the log (trust domains, deployments and API tokens it must
 * know, and its own deployment keys), idempotency records, when each key was last used, the
 * assertion ids already spent (single use across replicas), and the public keys credentials
 * are verified with. No table holds a private key.
 */
export class AuthInitial1700000000000 implements MigrationInterface {
  name = 'AuthInitial1700000000000';

  constructor(
    private readonly schema: string = 'auth',
    private readonly apiRole: string = 'tp_auth_api',
  ) {}

  async up(q: QueryRunner): Promise<void> {
    const s = `"${this.schema}"`;
    await q.query(eventstoreTablesSql(this.schema));
    await q.query(`
      CREATE TABLE ${s}.trust_domains (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, version bigint NOT NULL);
      CREATE UNIQUE INDEX trust_domains_tenant_name ON ${s}.trust_domains (tenant_id, name);
      CREATE TABLE ${s}.deployments (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, name text NOT NULL, managed boolean NOT NULL, version bigint NOT NULL);
      CREATE INDEX deployments_td ON ${s}.deployments (trust_domain_id, name);
      CREATE TABLE ${s}.api_tokens (
        id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, scopes text[] NOT NULL,
        salt text NOT NULL, hash text NOT NULL, expires_at timestamptz, revoked boolean NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE TABLE ${s}.deployment_keys (
        id text PRIMARY KEY, tenant_id text NOT NULL, trust_domain_id text NOT NULL, deployment_id text NOT NULL,
        state text NOT NULL, public_key_pem text NOT NULL, fingerprint text NOT NULL, version bigint NOT NULL,
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
      CREATE INDEX deployment_keys_deployment ON ${s}.deployment_keys (deployment_id, created_at);
      CREATE TABLE ${s}.key_usage (
        key_id text PRIMARY KEY, tenant_id text NOT NULL, last_used_at timestamptz NOT NULL);
      CREATE TABLE ${s}.used_assertions (
        key_id text NOT NULL, jti text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (key_id, jti));
      CREATE INDEX used_assertions_expiry ON ${s}.used_assertions (expires_at);
      CREATE TABLE ${s}.credential_signing_keys (
        kid text PRIMARY KEY, alg text NOT NULL, public_jwk jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    `);
    await createApiRole(q, this.schema, this.apiRole);
    for (const table of [...AUTH_MODEL_TABLES, 'key_usage']) await isolateTenantTable(q, this.schema, table, this.apiRole);
    await createIdempotencyTable(q, this.schema, this.apiRole);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
  }
}

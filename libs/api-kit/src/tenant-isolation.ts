import type { QueryRunner } from 'typeorm';

/**
 * Row-level security on one tenant table: rows are visible (and writable) only when the
 * transaction set `app.tenant` to their organization; the API role may read.
 */
export async function isolateTenantTable(q: QueryRunner, schema: string, table: string, apiRole: string): Promise<void> {
  await q.query(`ALTER TABLE "${schema}".${table} ENABLE ROW LEVEL SECURITY`);
  await q.query(
    `CREATE POLICY tenant_isolation ON "${schema}".${table}
       USING (tenant_id = current_setting('app.tenant', true))
       WITH CHECK (tenant_id = current_setting('app.tenant', true))`,
  );
  await q.query(`GRANT SELECT ON "${schema}".${table} TO "${apiRole}"`);
}

/**
 * The current shape of the `idempotency_keys` table the {@link IdempotencyInterceptor} uses, for a
 * service that creates it in one step (the registry reached it through several migrations).
 * Tenant-isolated; the API role may read and write it.
 */
export async function createIdempotencyTable(q: QueryRunner, schema: string, apiRole: string): Promise<void> {
  const s = `"${schema}"`;
  await q.query(`
    CREATE TABLE ${s}.idempotency_keys (
      tenant_id text NOT NULL, key text NOT NULL, request_hash text NOT NULL,
      status integer, response jsonb, created_at timestamptz NOT NULL DEFAULT now(),
      claim_id text, claimed_until timestamptz, expires_at timestamptz NOT NULL,
      secret_withheld boolean NOT NULL DEFAULT false,
      PRIMARY KEY (tenant_id, key));
    CREATE INDEX idempotency_keys_expiry ON ${s}.idempotency_keys (expires_at);
  `);
  await isolateTenantTable(q, schema, 'idempotency_keys', apiRole);
  await q.query(`GRANT INSERT, UPDATE, DELETE ON ${s}.idempotency_keys TO "${apiRole}"`);
}

/** Creates the API role (login, no superuser, no BYPASSRLS) if missing and lets it use the schema. */
export async function createApiRole(q: QueryRunner, schema: string, apiRole: string): Promise<void> {
  await q.query(`
    DO $$ BEGIN
      CREATE ROLE "${apiRole}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$;`);
  const rows: { db: string }[] = await q.query('SELECT current_database() AS db');
  await q.query(`GRANT CONNECT ON DATABASE "${rows[0]?.db ?? 'postgres'}" TO "${apiRole}"`);
  await q.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${apiRole}"`);
}

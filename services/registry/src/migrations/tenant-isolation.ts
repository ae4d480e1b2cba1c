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

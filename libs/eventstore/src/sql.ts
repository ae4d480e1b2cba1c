import type { PoolClient } from 'pg';

/** The part of a Postgres client a projection may use inside its transaction. */
export interface ProjectionTx {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** Quotes an SQL identifier (schema or table name). */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new RangeError(`"${name}" is not a safe SQL identifier`);
  }
  return `"${name}"`;
}

/**
 * DDL of the bookkeeping tables every service schema holds next to its projections:
 * the checkpoint (last applied stream sequence per projection) and the dead letters.
 * Services run it from a TypeORM migration.
 */
export function eventstoreTablesSql(schema: string): string {
  const s = quoteIdent(schema);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.projection_checkpoints (
  projection text PRIMARY KEY,
  stream_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ${s}.projection_dead_letters (
  id bigserial PRIMARY KEY,
  projection text NOT NULL,
  stream_seq bigint NOT NULL,
  event_id text,
  event_type text,
  error text NOT NULL,
  payload text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (projection, stream_seq)
);`;
}

/** Runs `work` in one transaction with `search_path` set to `schema`. */
export async function inTransaction<T>(
  client: PoolClient,
  schema: string,
  work: () => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT set_config('search_path', $1, true)`, [`${quoteIdent(schema)}, public`]);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Postgres SQLSTATE classes that mean "try again later", not "this event is poison". */
const TRANSIENT_SQLSTATE_CLASSES = ['08', '40', '53', '57', '58'];

/** True when a database error is transient (connection, deadlock, resources, shutdown). */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length === 5) {
    return TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2));
  }
  return error instanceof Error && /ECONNREFUSED|ECONNRESET|Connection terminated|timeout/i.test(error.message);
}

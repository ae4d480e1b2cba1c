import type { DomainEnvelope } from '@trustplane/events';
import type { RowFold } from './projection.js';
import { quoteIdent, type ProjectionTx } from './sql.js';

/** A row of a projection table, keyed by its text `id` column. JSON-shaped (snake_case columns). */
export type TableRow = { readonly id: string } & Readonly<Record<string, unknown>>;

/** Describes how events fold into rows of one table. */
export interface TableFoldSpec<Row extends TableRow> {
  /** Unqualified table name (resolved through the runner's search_path). */
  readonly table: string;
  /** Columns to write, in table order; must include `id`. */
  readonly columns: readonly (keyof Row & string)[];
  /** The row id an event touches, or undefined. */
  keyOf(event: DomainEnvelope): string | undefined;
  /** Folds the event into the row; undefined deletes it. */
  fold(row: Row | undefined, event: DomainEnvelope, sequence: number): Row | undefined;
}

/**
 * A RowFold over one table that loads rows as JSON (`to_jsonb`) and writes them back with
 * `jsonb_populate_recordset`, so arrays, timestamps and booleans need no per-table SQL.
 */
export function tableFold<Row extends TableRow>(spec: TableFoldSpec<Row>): RowFold<Row> {
  const table = quoteIdent(spec.table);
  const columns = spec.columns.map(quoteIdent);
  const updates = columns.filter((c) => c !== '"id"').map((c) => `${c} = EXCLUDED.${c}`);
  const upsertSql =
    `INSERT INTO ${table} (${columns.join(', ')}) ` +
    `SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb) ` +
    `ON CONFLICT (id) DO ${updates.length > 0 ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
  return {
    keyOf: spec.keyOf,
    async load(tx: ProjectionTx, keys) {
      const result = await tx.query<{ row: Row }>(`SELECT to_jsonb(t) AS row FROM ${table} t WHERE id = ANY($1)`, [keys]);
      return new Map(result.rows.map(({ row }) => [row.id, row]));
    },
    fold: spec.fold,
    async save(tx, upserts, deletes) {
      if (upserts.length > 0) await tx.query(upsertSql, [JSON.stringify(upserts)]);
      if (deletes.length > 0) await tx.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [deletes]);
    },
  };
}

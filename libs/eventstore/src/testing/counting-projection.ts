// A small projection used by this package's tests: one row per organization, with a count
// of the events applied to it (so applying an event twice is visible) and a poison switch.
import type { DomainEnvelope } from '@trustplane/events';
import type { Pool } from 'pg';
import { applyRowFold, type Projection, type RowFold } from '../projection.js';
import { eventstoreTablesSql, quoteIdent, type ProjectionTx } from '../sql.js';

export interface OrgRow {
  id: string;
  name: string;
  events_applied: number;
  last_seq_time: string;
}

/** Name that makes the projection throw (a poison event). */
export const POISON_NAME = 'poison';

const orgFold: RowFold<OrgRow> = {
  keyOf: (event) => (event.aggregateType === 'organization' ? event.aggregateId : undefined),
  async load(tx: ProjectionTx, keys) {
    const result = await tx.query<{ id: string; name: string; events_applied: number; last_seq_time: Date }>(
      'SELECT id, name, events_applied, last_seq_time FROM orgs WHERE id = ANY($1)',
      [keys],
    );
    return new Map(
      result.rows.map((r) => [r.id, { ...r, last_seq_time: r.last_seq_time.toISOString() }]),
    );
  },
  fold(row, event: DomainEnvelope) {
    switch (event.type) {
      case 'organization.created':
        if (event.data.name === POISON_NAME) throw new Error('poison event');
        return { id: event.aggregateId, name: event.data.name, events_applied: (row?.events_applied ?? 0) + 1, last_seq_time: event.occurredAt };
      case 'organization.renamed':
        if (row === undefined) return row;
        if (event.data.name === POISON_NAME) throw new Error('poison event');
        return { ...row, name: event.data.name, events_applied: row.events_applied + 1, last_seq_time: event.occurredAt };
    }
  },
  async save(tx, upserts, deletes) {
    if (upserts.length > 0) {
      await tx.query(
        `INSERT INTO orgs (id, name, events_applied, last_seq_time)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, events_applied = EXCLUDED.events_applied,
           last_seq_time = EXCLUDED.last_seq_time`,
        [
          upserts.map((r) => r.id),
          upserts.map((r) => r.name),
          upserts.map((r) => r.events_applied),
          upserts.map((r) => r.last_seq_time),
        ],
      );
    }
    if (deletes.length > 0) await tx.query('DELETE FROM orgs WHERE id = ANY($1)', [deletes]);
  },
};

export const countingProjection: Projection = {
  name: 'test.orgs',
  aggregateTypes: ['organization'],
  tables: [{ name: 'orgs', orderBy: ['id'] }],
  applyBatch: (tx, events) => applyRowFold(tx, orgFold, events),
};

/** Creates the bookkeeping tables and the `orgs` table in `schema`. */
export async function createCountingSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(eventstoreTablesSql(schema));
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.orgs (
       id text PRIMARY KEY, name text NOT NULL, events_applied int NOT NULL, last_seq_time timestamptz NOT NULL)`,
  );
}

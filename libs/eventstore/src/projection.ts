import type { DomainEnvelope } from '@trustplane/events';

/** An event with the stream sequence it was stored at (its aggregate's version after it). */
export interface PositionedEvent {
  readonly event: DomainEnvelope;
  readonly sequence: number;
}
import type { ProjectionTx } from './sql.js';

/** A table a projection owns, with the columns that order its rows deterministically. */
export interface ProjectionTable {
  readonly name: string;
  readonly orderBy: readonly string[];
}

/**
 * A read model fed from the event log. `applyBatch` receives consecutive events (already
 * filtered to `aggregateTypes`) inside the runner's transaction, whose search_path is the
 * target schema, so table names stay unqualified and a rebuild can aim at fresh tables.
 * It must be deterministic: replaying the log gives byte-identical rows.
 */
export interface Projection {
  /** Stable name, also the checkpoint key and (sanitized) the durable consumer name. */
  readonly name: string;
  /** Aggregate types whose events this projection reads; others only advance the checkpoint. */
  readonly aggregateTypes: readonly string[];
  /** Tables the projection owns (for rebuild and comparison). */
  readonly tables: readonly ProjectionTable[];
  /** Applies events in order. */
  applyBatch(tx: ProjectionTx, events: readonly PositionedEvent[]): Promise<void>;
}

/**
 * Builds a batch-applying projection from a per-row fold: load the rows the batch touches
 * in one query, fold every event in memory, write the changed rows back in one statement.
 */
export interface RowFold<Row> {
  /** The row key an event affects, or undefined when the event does not touch this table. */
  keyOf(event: DomainEnvelope): string | undefined;
  /** Loads the current rows for these keys. */
  load(tx: ProjectionTx, keys: readonly string[]): Promise<Map<string, Row>>;
  /** Folds one event into the row (undefined = the row does not exist / is deleted). */
  fold(row: Row | undefined, event: DomainEnvelope, sequence: number): Row | undefined;
  /** Upserts changed rows and deletes removed keys. */
  save(tx: ProjectionTx, upserts: readonly Row[], deletes: readonly string[]): Promise<void>;
}

/** Applies a batch through a RowFold. */
export async function applyRowFold<Row>(
  tx: ProjectionTx,
  rowFold: RowFold<Row>,
  events: readonly PositionedEvent[],
): Promise<void> {
  const keyed = events.flatMap(({ event, sequence }) => {
    const key = rowFold.keyOf(event);
    return key === undefined ? [] : [{ key, event, sequence }];
  });
  if (keyed.length === 0) return;
  const keys = [...new Set(keyed.map((k) => k.key))];
  const rows = await rowFold.load(tx, keys);
  const touched = new Map<string, Row | undefined>();
  for (const { key, event, sequence } of keyed) {
    const current = touched.has(key) ? touched.get(key) : rows.get(key);
    touched.set(key, rowFold.fold(current, event, sequence));
  }
  const upserts: Row[] = [];
  const deletes: string[] = [];
  for (const [key, row] of touched) {
    if (row === undefined) {
      if (rows.has(key)) deletes.push(key);
    } else {
      upserts.push(row);
    }
  }
  await rowFold.save(tx, upserts, deletes);
}

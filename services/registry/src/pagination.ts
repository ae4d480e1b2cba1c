import { ProblemError } from '@trustplane/platform';
import { checkText, looksLikeResourceId } from '@trustplane/spiffe';
import { PAGE_LIMIT } from './api-schemas.js';

/** Where the previous page ended: its last item's sort key (a name) and id. */
export interface PagePosition {
  /** The sort key of the last item shown (a name, a SPIFFE ID). */
  readonly key: string;
  /** The id of the last item shown (ties between equal keys). */
  readonly id: string;
}

/** Keyset pagination parameters: items after `after` in (sort key, id) order, at most `limit`. */
export interface PageRequest {
  readonly limit: number;
  readonly after: PagePosition | null;
}

/** Longest sort key a cursor may carry (SPIFFE IDs are at most 2048 bytes). */
const MAX_CURSOR_KEY = 2048;

/** Parses `?limit=` (PagingQuery: 1–200, default 50) and `?after=` (an opaque cursor from a previous page). */
export function pageRequestOf(query: Readonly<Record<string, unknown>>): PageRequest {
  const rawLimit = query['limit'];
  let limit: number = PAGE_LIMIT.default;
  if (rawLimit !== undefined) {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < PAGE_LIMIT.min || limit > PAGE_LIMIT.max) {
      const message = `limit must be an integer between ${PAGE_LIMIT.min} and ${PAGE_LIMIT.max}`;
      throw new ProblemError(400, 'VALIDATION_FAILED', message, [{ field: 'limit', code: 'RANGE', message }]);
    }
  }
  const rawAfter = query['after'];
  if (rawAfter === undefined || rawAfter === '') return { limit, after: null };
  const after = typeof rawAfter === 'string' ? decodeCursor(rawAfter) : undefined;
  if (after === undefined) {
    throw new ProblemError(400, 'VALIDATION_FAILED', 'after is not a cursor from a previous page', [
      { field: 'after', code: 'FORMAT', message: 'after is not a cursor from a previous page' },
    ]);
  }
  return { limit, after };
}

/** The cursor pointing after an item: its sort key and id. */
export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify({ key: position.key, id: position.id }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): PagePosition | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const { key, id } = parsed as { key?: unknown; id?: unknown };
    // Cursors hold a stored name and an id: anything else (NUL, another shape) is not one of ours.
    if (typeof id !== 'string' || !looksLikeResourceId(id) || typeof key !== 'string') return undefined;
    const checked = checkText(key, { maxLength: MAX_CURSOR_KEY });
    return checked.ok && checked.value === key ? { key, id } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SQL for one keyset-paginated list ordered by `sortColumn` then `idColumn`, byte-wise (`COLLATE
 * "C"`, so the order and the cursor comparison never depend on the database's locale): `where`
 * is true for the rows after the cursor in parameters `$first` (sort key) and `$first+1` (id),
 * or for every row when they are NULL; `orderBy` is the matching ORDER BY list.
 */
export function keysetSql(sortColumn: string, idColumn: string, first: number): { where: string; orderBy: string } {
  const key = `$${first}::text`;
  const id = `$${first + 1}::text`;
  return {
    where: `(${key} IS NULL OR (${sortColumn} COLLATE "C", ${idColumn}) > (${key} COLLATE "C", ${id}))`,
    orderBy: `${sortColumn} COLLATE "C", ${idColumn}`,
  };
}

/** The parameters {@link keysetSql} expects for a page request: sort key, then id. */
export function keysetParams(page: PageRequest): [string | null, string | null] {
  return [page.after?.key ?? null, page.after?.id ?? null];
}

/**
 * Builds a page from rows fetched with `LIMIT limit + 1` in (sort key, id) order; `sortKeyOf`
 * gives a row's sort key (the column the list is ordered by).
 */
export function pageOf<R extends { id: unknown }, T>(rows: readonly R[], request: PageRequest, sortKeyOf: (row: R) => string, view: (row: R) => T) {
  const items = rows.slice(0, request.limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor({ key: sortKeyOf(last), id: String(last.id) }) : null,
  };
}

/** A `true`/`false` query flag (absent = false); anything else is refused, not read as false. */
export function queryFlag(name: string, value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ProblemError(400, 'VALIDATION_FAILED', `${name} must be true or false`, [{ field: name, code: 'TYPE_BOOLEAN', message: `${name} must be true or false` }]);
}

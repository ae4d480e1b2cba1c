import { ProblemError } from '@trustplane/platform';
import { looksLikeResourceId } from '@trustplane/spiffe';

/** Keyset pagination parameters: rows with id > `after`, at most `limit`. */
export interface PageRequest {
  readonly limit: number;
  readonly after: string | null;
}

/** Parses `?limit=` (1–200, default 50) and `?after=` (an opaque cursor from a previous page). */
export function pageRequestOf(query: Readonly<Record<string, unknown>>): PageRequest {
  const rawLimit = query['limit'];
  let limit = 50;
  if (rawLimit !== undefined) {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'limit must be an integer between 1 and 200', [
        { field: 'limit', code: 'RANGE', message: 'limit must be an integer between 1 and 200' },
      ]);
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

/** The cursor pointing after `id`. */
export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ after: id }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const after = (parsed as { after?: unknown } | null)?.after;
    // Cursors point after an id: anything else (NUL, another shape) is not one of ours.
    return typeof after === 'string' && looksLikeResourceId(after) ? after : undefined;
  } catch {
    return undefined;
  }
}

/** Builds a page from rows fetched with `LIMIT limit + 1`. */
export function pageOf<R extends { id: unknown }, T>(rows: readonly R[], request: PageRequest, view: (row: R) => T) {
  const items = rows.slice(0, request.limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor(String(last.id)) : null,
  };
}

/** A `true`/`false` query flag (absent = false); anything else is refused, not read as false. */
export function queryFlag(name: string, value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ProblemError(400, 'VALIDATION_FAILED', `${name} must be true or false`, [{ field: name, code: 'TYPE_BOOLEAN', message: `${name} must be true or false` }]);
}

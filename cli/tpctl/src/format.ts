// Pure text rendering for the human output: tables, aligned key/value blocks, counted footers.

/** A cell value; null and undefined render as `-`. */
export type Cell = string | number | boolean | null | undefined;

/** Renders one cell as text. */
export function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value);
}

/**
 * A table: a header row then one row per item, each column as wide as its widest cell, two
 * spaces between columns, no trailing spaces. Every line ends with a newline.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  const text = [headers.slice(), ...rows.map((row) => headers.map((_, i) => cellText(row[i])))];
  const widths = headers.map((_, column) =>
    Math.max(...text.map((row) => (row[column] ?? '').length)),
  );
  return text
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .map((line) => line + '\n')
    .join('');
}

/** Aligned `Key: value` lines (values start in one column). Every line ends with a newline. */
export function renderKeyValues(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length + 1));
  return pairs.map(([key, value]) => `${(key + ':').padEnd(width)} ${cellText(value)}\n`).join('');
}

/** A noun with its singular and plural forms. */
export interface Noun {
  /** e.g. `trust domain` */
  one: string;
  /** e.g. `trust domains` */
  many: string;
}

/** `No trust domains found.`, `1 trust domain found.`, `3 trust domains found.` */
export function countFooter(count: number, noun: Noun): string {
  if (count === 0) return `No ${noun.many} found.\n`;
  return `${count} ${count === 1 ? noun.one : noun.many} found.\n`;
}

/** A list in human form: the table and its footer, or only the footer when empty. */
export function renderList(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  noun: Noun,
): string {
  if (rows.length === 0) return countFooter(0, noun);
  return renderTable(headers, rows) + countFooter(rows.length, noun);
}

/** Pretty JSON as printed by `--output json`, with a trailing newline. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

// Times as spirlctl prints them: `2025-10-23 18:30:41.013 +0000 UTC` (UTC, milliseconds with
// trailing zeros dropped), and RFC 3339 without fractions for list columns (`2025-10-24T20:36:43Z`).

/** `2025-10-23T18:30:41.013Z` → `2025-10-23 18:30:41.013 +0000 UTC`; null/unparsable → null. */
export function displayTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return value;
  const iso = time.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction === '' ? '' : `.${fraction}`} +0000 UTC`;
}

/** `2025-10-24T20:36:43.120Z` → `2025-10-24T20:36:43Z`; null/unparsable → null / as given. */
export function shortTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return value;
  return time.toISOString().replace(/\.\d+Z$/, 'Z');
}

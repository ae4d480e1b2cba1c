// `--output json` prints snake_case field names throughout (spirlctl scripts read `key_id`,
// `deployment_name`, …), whatever the REST API's own camelCase. Documents the user wrote (a
// config section's `spec`, a cluster config version's `config`) are printed as they are.

/** Keys whose values are user documents: printed verbatim, not renamed. */
export const VERBATIM_KEYS: ReadonlySet<string> = new Set(['spec', 'config']);

/** `trustDomainId` → `trust_domain_id`, `x509SvidTtl` → `x509_svid_ttl`; snake_case stays as is. */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** A copy of `value` with every object key in snake_case (user documents left untouched). */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => snakeCaseKeys(item));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      snakeCase(key),
      VERBATIM_KEYS.has(key) ? item : snakeCaseKeys(item),
    ]),
  );
}

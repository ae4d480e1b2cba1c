// Flag value parsers (pure). Each throws commander's InvalidArgumentError, which commander
// reports naming the flag: "option '--x509-svid-ttl <seconds>' argument 'x' is invalid. …".
import { InvalidArgumentError } from 'commander';

/** A positive whole number (TTLs in seconds, days). */
export function positiveInt(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()))
    throw new InvalidArgumentError('must be a positive whole number');
  const parsed = Number(value.trim());
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive whole number');
  return parsed;
}

/** A whole number ≥ 0 (versions, where 0 means "not set yet"). */
export function nonNegativeInt(value: string): number {
  if (!/^[0-9]+$/.test(value.trim()))
    throw new InvalidArgumentError('must be a whole number (0 or more)');
  const parsed = Number(value.trim());
  if (!Number.isSafeInteger(parsed))
    throw new InvalidArgumentError('must be a whole number (0 or more)');
  return parsed;
}

/** A `type:value` selector, e.g. `k8s:ns:payments` or `unix:uid:1000`. */
export function selector(value: string): string {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1)
    throw new InvalidArgumentError('must be type:value, e.g. unix:uid:1000');
  return value;
}

/** An RFC 3339 timestamp with a time zone, e.g. 2030-01-01T00:00:00Z. */
export function rfc3339(value: string): string {
  const pattern = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
  if (!pattern.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('must be an RFC 3339 time, e.g. 2030-01-01T00:00:00Z');
  }
  return value;
}

/** A comma-separated list of scopes, e.g. `trust-domains:read,entries:write`. */
export function scopeList(value: string): string[] {
  const scopes = value
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
  if (scopes.length === 0)
    throw new InvalidArgumentError(
      'must name at least one scope, e.g. trust-domains:read,entries:write',
    );
  return [...new Set(scopes)];
}

/** Collects a repeatable flag, validating each value. */
export function repeatable(
  validate: (value: string) => string = (value) => value,
): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => [...(previous ?? []), validate(value)];
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in whole seconds: `3600`, `90s`, `10m`, `1h`, `1d`. */
export function durationSeconds(value: string): number {
  const match = /^([0-9]+)([smhd]?)$/.exec(value.trim());
  const seconds = match === null ? Number.NaN : Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? Number.NaN);
  if (!Number.isSafeInteger(seconds) || seconds <= 0)
    throw new InvalidArgumentError('must be a duration such as 3600, 90s, 10m, 1h or 1d');
  return seconds;
}

/**
 * Go's time.ParseDuration syntax: a possibly signed sequence of decimal numbers, each with an
 * optional fraction and a unit suffix, e.g. "300ms", "-1.5h", "2h45m". Units: ns, us (µs, μs),
 * ms, s, m, h. "0" needs no unit.
 */
import { KeyManagerError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ns: 1e-6,
  us: 1e-3,
  '\u00b5s': 1e-3,
  '\u03bcs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
});

/** Go's largest duration, (2^63 - 1) ns, in milliseconds. */
const MAX_DURATION_MS = 9_223_372_036_854.775;

/**
 * Parses a Go duration string into milliseconds (fractional below 1 ms is kept).
 * @throws KeyManagerError INVALID_ARGUMENT naming the offending input.
 */
export function parseGoDuration(input: string): number {
  const fail = (why: string): never => {
    throw new KeyManagerError(
      'INVALID_ARGUMENT',
      `invalid duration ${JSON.stringify(input)}: ${why}`,
    );
  };
  if (typeof input !== 'string') fail('not a string');
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail('empty');
  let total = 0;
  const component = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (s.length > 0) {
    const m = component.exec(s);
    if (m === null) fail('expected a number followed by a unit');
    const [whole, intPart = '', fracPart, unit = ''] = m as RegExpExecArray;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) fail('missing digits');
    const scale = UNIT_MS[unit];
    if (scale === undefined) fail(`unknown unit ${JSON.stringify(unit)}`);
    total += Number(`${intPart === '' ? '0' : intPart}.${fracPart ?? ''}0`) * (scale as number);
    s = s.slice(whole.length);
  }
  if (total > MAX_DURATION_MS) fail('out of range');
  return sign * total;
}

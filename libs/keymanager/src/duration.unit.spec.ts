import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseGoDuration } from './duration.js';
import { KeyManagerError } from './errors.js';

describe('parseGoDuration', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['30s', 30_000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['300ms', 300],
    ['-1.5m', -90_000],
    ['+5s', 5_000],
    ['.5s', 500],
    ['1.s', 1_000],
    ['1500us', 1.5],
    ['2\u00b5s', 0.002],
    ['2\u03bcs', 0.002],
    ['1000000ns', 1],
    ['1h1m1s1ms', 3_661_001],
  ];
  for (const [input, ms] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      assert.ok(
        Math.abs(parseGoDuration(input) - ms) < 1e-9,
        `${input} → ${parseGoDuration(input)}`,
      );
    });
  }
  for (const input of [
    '',
    '1',
    '10',
    's',
    '.s',
    '1.2.3s',
    '5d',
    '1 s',
    '-',
    '3sm',
    '1e3s',
    '2562048h',
  ]) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseGoDuration(input),
        (err: unknown) => err instanceof KeyManagerError && err.code === 'INVALID_ARGUMENT',
      );
    });
  }
});

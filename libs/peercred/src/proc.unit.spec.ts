import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerCredError, parseProcStatStartTime } from './index.js';

/** Builds a stat line: pid, (comm), then fields 3..52 with starttime (22) set. */
function statLine(comm: string, startTime: string): string {
  const fields = Array.from({ length: 50 }, (_, i) => (i === 0 ? 'S' : String(i + 3)));
  fields[22 - 3] = startTime;
  return `1234 (${comm}) ${fields.join(' ')}\n`;
}

describe('parseProcStatStartTime', () => {
  it('reads field 22', () => {
    assert.equal(parseProcStatStartTime(statLine('node', '5678')), 5678n);
  });

  it('counts fields from the last ")" so comm cannot shift them', () => {
    assert.equal(parseProcStatStartTime(statLine('a) 1 2 3 (b', '99')), 99n);
    assert.equal(parseProcStatStartTime(statLine(' ', '100')), 100n);
  });

  it('keeps values beyond 2^53 exact', () => {
    assert.equal(
      parseProcStatStartTime(statLine('x', '18446744073709551615')),
      18446744073709551615n,
    );
  });

  it('rejects malformed input with PEERCRED_PROC_MALFORMED', () => {
    for (const input of [
      '',
      '1234 node S 1 2',
      '1234 (node) S 1 2 3',
      statLine('x', '-5'),
      statLine('x', '12a'),
    ]) {
      assert.throws(
        () => parseProcStatStartTime(input),
        (error: unknown) =>
          error instanceof PeerCredError && error.code === 'PEERCRED_PROC_MALFORMED',
        JSON.stringify(input),
      );
    }
  });
});

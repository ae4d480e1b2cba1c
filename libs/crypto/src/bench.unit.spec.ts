import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { measureMintRate } from './index';

// Smoke test only: the figures themselves are judged by bench/, never asserted here.
describe('measureMintRate', () => {
  it('runs and reports every rate', async () => {
    const r = await measureMintRate(300);
    for (const [name, value] of Object.entries(r)) {
      assert.ok(Number.isFinite(value) && value > 0, `${name} = ${value}`);
    }
    assert.equal(r.durationMs, 300);
  });
});

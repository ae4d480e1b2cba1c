import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterFailure, mayRetry, retryDelayMs, type RetryState } from './index.js';

test('failed rotation work is retried after 1 s, 2 s, 4 s … capped at 5 min', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(n)), [1_000, 2_000, 4_000, 8_000, 16_000]);
  assert.equal(retryDelayMs(20), 300_000);
  assert.equal(retryDelayMs(10_000), 300_000, 'no overflow for long outages');
  assert.equal(retryDelayMs(3, { initialDelayMs: 10, maxDelayMs: 25 }), 25);
});

test('a deployment that failed waits for its delay; one that never failed runs at once', () => {
  const t0 = new Date('2030-01-01T00:00:00Z');
  assert.equal(mayRetry(undefined, t0), true);
  let state: RetryState = afterFailure(undefined, t0);
  assert.equal(state.failures, 1);
  assert.equal(mayRetry(state, new Date(t0.getTime() + 999)), false);
  assert.equal(mayRetry(state, new Date(t0.getTime() + 1_000)), true);
  state = afterFailure(state, new Date(t0.getTime() + 1_000));
  assert.equal(state.failures, 2);
  assert.equal(state.notBefore.getTime(), t0.getTime() + 3_000);
});

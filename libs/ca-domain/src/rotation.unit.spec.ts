// THE ROTATION SIMULATION (issue requirement): 5 simulated days, CA TTL 24h, X.509-SVID TTL 1h,
// JWT-SVID TTL 5m, minute steps plus every due instant and SVID expiry, real keys and
// certificates. See test-support/simulation.ts for what is checked at every instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCaSettings } from './index.js';
import { simulate } from './test-support/simulation.js';
import { HOUR } from './testing.js';

test('rotation simulation: 5 days, CA TTL 24h, X.509-SVID 1h, JWT-SVID 5m — no verification gap', async () => {
  const report = await simulate({ days: 5, settings: resolveCaSettings() });
  // A successor is prepared every 12h (0h, 12h, …, 120h − 20s), activated 8h later; the old
  // one leaves 1h + 1s after that → 11 keysets in 5 days: 9 dropped, 1 active, 1 prepared.
  assert.equal(report.keysets.length, 11, report.keysets.map((k) => k.keysetId).join());
  assert.deepEqual(
    report.keysets.map((k) => k.status),
    [...Array<string>(9).fill('dropped'), 'active', 'prepared'],
  );
  for (const [i, ks] of report.keysets.slice(1).entries()) {
    const previous = report.keysets[i]!;
    if (previous.deactivatedAt === null) continue;
    assert.equal(ks.activatedAt, previous.deactivatedAt, 'hand-over at one instant');
    assert.equal(
      previous.droppedAt,
      previous.deactivatedAt + HOUR * 1000 + 1000,
      'dropped 1h + 1s after deactivation',
    );
  }
  assert.equal(report.drops, 9);
  // Bundle: one update per prepare (the first publication included) and one per drop.
  assert.equal(report.bundleUpdates, 11 + 9);
  assert.ok(report.issued > 2 * 5 * 24 * 60, `minted ${report.issued}`);
  assert.ok(report.checks > 300_000, `checked ${report.checks}`);
});

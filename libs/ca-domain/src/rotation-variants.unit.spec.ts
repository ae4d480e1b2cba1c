// Rotation simulation variants: taint (forced rotation), taint + revocation, the 30d / 7d caps
// of a 90-day P-384 CA, and RSA-2048 keysets. Same harness and checks as rotation.unit.spec.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCaSettings, type Keyset } from './index.js';
import { simulate } from './test-support/simulation.js';
import { DAY, HOUR } from './testing.js';

test('rotation simulation with a taint: forced rotation, tainted SVIDs verify until they expire', async () => {
  // Taint on day 2 at an odd instant (not on the minute grid).
  const report = await simulate({
    days: 2,
    settings: resolveCaSettings(),
    taintAt: DAY + 13 * HOUR + 37 * 60 + 20,
  });
  const tainted = report.keysets.filter((k) => k.taintedAt !== null);
  assert.equal(tainted.length, 1);
  const ks = tainted[0]!;
  assert.equal(ks.status, 'dropped');
  assert.equal(ks.deactivatedAt, ks.taintedAt);
  assert.equal(
    ks.droppedAt,
    ks.taintedAt! + HOUR * 1000 + 1000,
    'kept exactly until its last SVID expired',
  );
  const successor = report.keysets.find((k) => k.activatedAt === ks.taintedAt)!;
  assert.ok(successor, 'a successor took over at the taint instant');
  assert.ok(report.events.includes('ca.keyset_tainted'));
});

test('rotation simulation with a taint then a revocation: revoked SVIDs stop verifying at once, others never do', async () => {
  const report = await simulate({
    days: 1,
    settings: resolveCaSettings(),
    taintAt: 15 * HOUR + 7,
    revokeAfter: 10 * 60,
  });
  const revoked = report.keysets.filter((k) => k.status === 'revoked');
  assert.equal(revoked.length, 1);
  assert.equal(revoked[0]!.revokedAt! - revoked[0]!.taintedAt!, 10 * 60 * 1000);
  assert.ok(report.events.includes('ca.keyset_revoked'));
});

test('rotation simulation: a 90-day P-384 CA with 7-day SVIDs over 100 days (the 30d / 7d caps)', async () => {
  // A 6-hour grid (P-384 is slow); the loop still visits every due instant and every SVID's
  // last valid instant exactly.
  const settings = resolveCaSettings({
    caTtlSeconds: 90 * DAY,
    keyType: 'ec-p384',
    x509SvidTtlSeconds: 7 * DAY,
    jwtSvidTtlSeconds: HOUR,
  });
  const report = await simulate({ days: 100, settings, gridMs: 6 * HOUR * 1000 });
  assert.deepEqual(
    report.keysets.map((k) => [k.keyType, k.status]),
    [
      ['ec-p384', 'dropped'],
      ['ec-p384', 'active'],
    ],
  );
  const [first, second] = report.keysets as [Keyset, Keyset];
  assert.equal(
    second.preparedAt,
    first.notAfter - 30 * DAY * 1000,
    'prepared 30 days before the end',
  );
  assert.equal(
    second.activatedAt,
    first.notAfter - 7 * DAY * 1000,
    'activated 7 days before the end',
  );
  assert.equal(
    first.droppedAt,
    first.notAfter + 1000,
    'kept until its last 7-day SVID expired, capped at notAfter',
  );
});

test('rotation simulation: RSA-2048 keysets (RS256 JWT-SVIDs) over 2 days', async () => {
  const report = await simulate({
    days: 2,
    settings: resolveCaSettings({ keyType: 'rsa-2048' }),
    gridMs: 10 * 60_000,
  });
  assert.ok(report.keysets.every((k) => k.keyType === 'rsa-2048'));
  assert.ok(report.drops >= 2);
});

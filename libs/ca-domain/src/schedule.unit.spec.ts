import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationThreshold,
  DEFAULT_CA_SETTINGS,
  dropThreshold,
  initialCaState,
  jwtSvidTtl,
  lastSvidExpiry,
  nextDueAt,
  preparationThreshold,
  resolveCaSettings,
  rotationActions,
  x509SvidTtl,
  type CaState,
  type Keyset,
  type RotationAction,
} from './index.js';
import { at, DAY, HOUR, T0 } from './testing.js';

const settings = resolveCaSettings();

/** A keyset with dummy public material: the schedule never reads it. */
function keyset(
  keysetId: string,
  status: Keyset['status'],
  notBefore: Date,
  lifetimeSeconds: number,
  extra: Partial<Keyset> = {},
): Keyset {
  return {
    keysetId,
    keyType: 'ec-p256',
    status,
    notBefore: notBefore.getTime(),
    notAfter: notBefore.getTime() + lifetimeSeconds * 1000,
    maxX509SvidTtlSeconds: 3600,
    maxJwtSvidTtlSeconds: 300,
    x509: {
      keyHandle: `x509-${keysetId}`,
      certificate: '',
      subjectKeyId: '',
      publicKey: '',
      serialNumber: '',
    },
    jwt: { keyHandle: `jwt-${keysetId}`, keyId: keysetId, publicKey: '' },
    preparedAt: notBefore.getTime(),
    activatedAt: status === 'active' || status === 'old' ? notBefore.getTime() : null,
    deactivatedAt: null,
    taintedAt: null,
    revokedAt: null,
    droppedAt: null,
    ...extra,
  };
}

function state(...keysets: Keyset[]): CaState {
  return {
    deploymentId: 'tdd-0000000001',
    trustDomainId: 'td-0000000001',
    trustDomain: 'example.org',
    keysets,
  };
}

function kinds(actions: RotationAction[]): string[] {
  return actions.map((a) =>
    a.kind === 'prepare' ? `prepare:${a.reason}` : `${a.kind}:${a.keysetId}`,
  );
}

test('settings: defaults from ARCHITECTURE.md; bad values name their field', () => {
  assert.deepEqual(settings, DEFAULT_CA_SETTINGS);
  assert.deepEqual(
    [
      settings.caTtlSeconds,
      settings.x509SvidTtlSeconds,
      settings.jwtSvidTtlSeconds,
      settings.keyType,
    ],
    [86400, 3600, 300, 'ec-p256'],
  );
  assert.ok(Object.isFrozen(settings));
  assert.equal(
    resolveCaSettings({ x509SvidTtlSeconds: 1800 }).maxX509SvidTtlSeconds,
    1800,
    'the ceiling follows the default TTL',
  );
  for (const [input, field] of [
    [{ caTtlSeconds: 0 }, 'caTtlSeconds'],
    [{ caTtlSeconds: 1.5 }, 'caTtlSeconds'],
    [{ maxX509SvidTtlSeconds: 86400 }, 'maxX509SvidTtlSeconds'],
    [{ jwtSvidTtlSeconds: 600, maxJwtSvidTtlSeconds: 300 }, 'jwtSvidTtlSeconds'],
    [{ keyType: 'ed25519' }, 'keyType'],
    [{ caTtl: 5 }, 'caTtl'],
    [{ caBackdateSeconds: -1 }, 'caBackdateSeconds'],
  ] as const) {
    assert.throws(
      () => resolveCaSettings(input as never),
      (e: unknown) =>
        (e as { code?: string }).code === 'CA_SETTINGS_INVALID' &&
        (e as { details?: { field?: string } }).details?.field === field,
      field,
    );
  }
  assert.equal(resolveCaSettings({ keyType: 'rsa-2048' }).keyType, 'rsa-2048');
});

test('24h CA: prepare at notAfter − 12h, activate at notAfter − 4h, exactly', () => {
  const a = keyset('ks-a', 'active', T0, DAY);
  assert.equal(preparationThreshold(a), at(12 * HOUR).getTime());
  assert.equal(activationThreshold(a), at(20 * HOUR).getTime());
  const s = state(a);
  assert.deepEqual(rotationActions(s, new Date(at(12 * HOUR).getTime() - 1), settings), []);
  assert.deepEqual(nextDueAt(s), at(12 * HOUR));
  const [prepare] = rotationActions(s, at(12 * HOUR), settings);
  assert.deepEqual(prepare, {
    kind: 'prepare',
    reason: 'rotation',
    keyType: 'ec-p256',
    notBefore: at(12 * HOUR - 10),
    notAfter: at(12 * HOUR - 10 + DAY),
    maxX509SvidTtlSeconds: 3600,
    maxJwtSvidTtlSeconds: 300,
  });
  const withNext = state(a, keyset('ks-b', 'prepared', at(12 * HOUR - 10), DAY));
  assert.deepEqual(nextDueAt(withNext), at(20 * HOUR));
  assert.deepEqual(rotationActions(withNext, new Date(at(20 * HOUR).getTime() - 1), settings), []);
  assert.deepEqual(rotationActions(withNext, at(20 * HOUR), settings), [
    { kind: 'activate', keysetId: 'ks-b', reason: 'rotation' },
  ]);
});

test('24h CA: the old keyset leaves the bundle one second after its last SVID expired', () => {
  const old = keyset('ks-a', 'old', T0, DAY, { deactivatedAt: at(20 * HOUR).getTime() });
  const b = keyset('ks-b', 'active', at(12 * HOUR), DAY, { activatedAt: at(20 * HOUR).getTime() });
  const s = state(old, b);
  assert.equal(
    lastSvidExpiry(old),
    at(21 * HOUR).getTime(),
    'deactivation + max(1h X.509, 5m JWT)',
  );
  assert.deepEqual(dropThreshold(old), {
    at: at(21 * HOUR + 1).getTime(),
    reason: 'svids_expired',
  });
  assert.deepEqual(nextDueAt(s), at(21 * HOUR + 1));
  assert.deepEqual(
    rotationActions(s, at(21 * HOUR), settings),
    [],
    'an SVID expiring at 21h still validates at 21h',
  );
  assert.deepEqual(rotationActions(s, at(21 * HOUR + 1), settings), [
    { kind: 'drop', keysetId: 'ks-a', reason: 'svids_expired' },
  ]);
});

test('the last SVID expiry is capped at the CA notAfter', () => {
  const late = keyset('ks-a', 'old', T0, DAY, { deactivatedAt: at(DAY - 30 * 60).getTime() });
  assert.equal(lastSvidExpiry(late), at(DAY).getTime());
  assert.equal(dropThreshold(late)?.at, at(DAY + 1).getTime());
  const longJwt = keyset('ks-b', 'old', T0, DAY, {
    deactivatedAt: at(HOUR).getTime(),
    maxJwtSvidTtlSeconds: 2 * HOUR,
  });
  assert.equal(
    lastSvidExpiry(longJwt),
    at(3 * HOUR).getTime(),
    'the longer of the two ceilings counts',
  );
});

test('90-day CA: the 30-day and 7-day caps bite', () => {
  const a = keyset('ks-a', 'active', T0, 90 * DAY);
  assert.equal(preparationThreshold(a), at(60 * DAY).getTime(), 'notAfter − 30d, not − 45d');
  assert.equal(activationThreshold(a), at(83 * DAY).getTime(), 'notAfter − 7d, not − 15d');
  assert.deepEqual(rotationActions(state(a), new Date(at(60 * DAY).getTime() - 1), settings), []);
  assert.deepEqual(kinds(rotationActions(state(a), at(60 * DAY), settings)), ['prepare:rotation']);
  const s = state(a, keyset('ks-b', 'prepared', at(60 * DAY), 90 * DAY));
  assert.deepEqual(rotationActions(s, new Date(at(83 * DAY).getTime() - 1), settings), []);
  assert.deepEqual(kinds(rotationActions(s, at(83 * DAY), settings)), ['activate:ks-b']);
  // Below the caps (6 days): lifetime/2 = 3d and lifetime/6 = 1d.
  const six = keyset('ks-c', 'active', T0, 6 * DAY);
  assert.deepEqual(
    [preparationThreshold(six), activationThreshold(six)],
    [at(3 * DAY).getTime(), at(5 * DAY).getTime()],
  );
});

test('first keyset: prepare at once, then activate at once', () => {
  const empty = initialCaState();
  assert.deepEqual(nextDueAt(empty), new Date(0), 'due immediately');
  const now = new Date(T0.getTime() + 1234); // fractions of a second are dropped, then 10s backdated
  assert.deepEqual(rotationActions(empty, now, settings), [
    {
      kind: 'prepare',
      reason: 'initial',
      keyType: 'ec-p256',
      notBefore: at(-9),
      notAfter: at(DAY - 9),
      maxX509SvidTtlSeconds: 3600,
      maxJwtSvidTtlSeconds: 300,
    },
  ]);
  const prepared = state(keyset('ks-a', 'prepared', at(-10), DAY));
  assert.deepEqual(rotationActions(prepared, now, settings), [
    { kind: 'activate', keysetId: 'ks-a', reason: 'initial' },
  ]);
  assert.ok(nextDueAt(prepared).getTime() <= now.getTime());
  const p384 = resolveCaSettings({ keyType: 'ec-p384', caTtlSeconds: 2 * DAY });
  const [custom] = rotationActions(empty, T0, p384);
  assert.ok(custom?.kind === 'prepare');
  assert.deepEqual(
    [custom.keyType, custom.notAfter.getTime() - custom.notBefore.getTime()],
    ['ec-p384', 2 * DAY * 1000],
  );
});

test('late scheduler: no successor at activation time → prepare now, activate on the next round', () => {
  const a = keyset('ks-a', 'active', T0, DAY);
  assert.deepEqual(kinds(rotationActions(state(a), at(22 * HOUR), settings)), ['prepare:rotation']);
  assert.deepEqual(
    kinds(rotationActions(state(a), at(DAY + HOUR), settings)),
    ['prepare:rotation'],
    'even after the active one expired',
  );
  const next = keyset('ks-b', 'prepared', at(22 * HOUR), DAY);
  assert.deepEqual(kinds(rotationActions(state(a, next), at(22 * HOUR), settings)), [
    'activate:ks-b',
  ]);
});

test('stale successors: an expired prepared keyset is dropped and replaced; a tainted unused one is dropped at once', () => {
  // ks-a reaches its preparation threshold (24h) exactly when the stale successor expires.
  const a = keyset('ks-a', 'active', at(12 * HOUR), DAY);
  const stale = keyset('ks-s', 'prepared', T0, DAY);
  const s = state(stale, a);
  assert.deepEqual(nextDueAt(s), at(DAY));
  assert.deepEqual(rotationActions(s, new Date(at(DAY).getTime() - 1), settings), []);
  assert.deepEqual(kinds(rotationActions(s, at(DAY), settings)), ['drop:ks-s', 'prepare:rotation']);
  const b = keyset('ks-b', 'active', at(DAY), DAY);
  const taintedUnused = keyset('ks-t', 'tainted', at(DAY + HOUR), DAY, {
    taintedAt: at(DAY + 2 * HOUR).getTime(),
  });
  const s2 = state(b, taintedUnused);
  assert.deepEqual(nextDueAt(s2), at(DAY + 2 * HOUR));
  assert.deepEqual(rotationActions(s2, at(DAY + 2 * HOUR), settings), [
    { kind: 'drop', keysetId: 'ks-t', reason: 'tainted_unused' },
  ]);
});

test('a successor valid only later is activated when it becomes valid', () => {
  const a = keyset('ks-a', 'active', T0, DAY);
  const future = keyset('ks-b', 'prepared', at(21 * HOUR), DAY);
  const s = state(a, future);
  assert.deepEqual(rotationActions(s, at(20 * HOUR), settings), []);
  assert.deepEqual(nextDueAt(s), at(21 * HOUR));
  assert.deepEqual(kinds(rotationActions(s, at(21 * HOUR), settings)), ['activate:ks-b']);
});

test('revoked and dropped keysets have nothing left to schedule', () => {
  const a = keyset('ks-a', 'active', T0, DAY);
  const gone = [keyset('ks-r', 'revoked', T0, DAY), keyset('ks-d', 'dropped', T0, DAY)];
  assert.deepEqual(nextDueAt(state(...gone, a)), at(12 * HOUR));
  assert.equal(dropThreshold(gone[0]!), null);
  assert.equal(dropThreshold(a), null);
});

test('SVID TTLs: requested or default, capped by the keyset ceiling and the CA remaining life', () => {
  const s = state(keyset('ks-a', 'active', T0, DAY));
  assert.deepEqual(x509SvidTtl(s, at(HOUR), settings), {
    keysetId: 'ks-a',
    ttlSeconds: 3600,
    cappedBy: 'requested',
  });
  assert.deepEqual(x509SvidTtl(s, at(HOUR), settings, 600), {
    keysetId: 'ks-a',
    ttlSeconds: 600,
    cappedBy: 'requested',
  });
  assert.deepEqual(x509SvidTtl(s, at(HOUR), settings, 7200), {
    keysetId: 'ks-a',
    ttlSeconds: 3600,
    cappedBy: 'ceiling',
  });
  assert.deepEqual(x509SvidTtl(s, at(DAY - 1800), settings), {
    keysetId: 'ks-a',
    ttlSeconds: 1800,
    cappedBy: 'ca_lifetime',
  });
  assert.deepEqual(
    x509SvidTtl(s, new Date(at(DAY - 1800).getTime() + 500), settings).ttlSeconds,
    1799,
    'whole seconds, never past notAfter',
  );
  assert.deepEqual(jwtSvidTtl(s, at(HOUR), settings), {
    keysetId: 'ks-a',
    ttlSeconds: 300,
    cappedBy: 'requested',
  });
  assert.deepEqual(jwtSvidTtl(s, at(DAY - 60), settings), {
    keysetId: 'ks-a',
    ttlSeconds: 60,
    cappedBy: 'ca_lifetime',
  });
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  assert.equal(
    code(() => x509SvidTtl(initialCaState(), T0, settings)),
    'CA_NO_ACTIVE_KEYSET',
  );
  assert.equal(
    code(() => x509SvidTtl(s, at(DAY), settings)),
    'CA_NO_REMAINING_LIFETIME',
  );
  assert.equal(
    code(() => jwtSvidTtl(s, T0, settings, 0)),
    'CA_SVID_TTL_INVALID',
  );
});

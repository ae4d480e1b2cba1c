import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isResourceId,
  newResourceId,
  parseResourceId,
  RESOURCE_ID_ALPHABET,
  RESOURCE_ID_PREFIXES,
  RESOURCE_KINDS,
  resourceKindOf,
  type ResourceIdErrorCode,
  type TrustDomainId,
} from './index.js';

/** A deterministic source that replays `bytes` cyclically. */
function replay(bytes: readonly number[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length] ?? 0);
}

test('prefixes match the hosted product and are unambiguous', () => {
  assert.deepEqual(RESOURCE_ID_PREFIXES, {
    organization: 't-',
    trustDomain: 'td-',
    deployment: 'tdd-',
    deploymentKey: 'tdk-',
    cluster: 'c-',
    clusterConfigVersion: 'cv-',
    entry: 'e-',
    agent: 'ag-',
    apiToken: 'tok-',
  });
  for (const a of RESOURCE_KINDS) {
    for (const b of RESOURCE_KINDS) {
      if (a !== b)
        assert.ok(!RESOURCE_ID_PREFIXES[a].startsWith(RESOURCE_ID_PREFIXES[b]), `${a} vs ${b}`);
    }
  }
});

test('newResourceId maps accepted bytes with b % 36 and skips bytes >= 252', () => {
  const id = newResourceId(
    'trustDomain',
    replay([0, 255, 10, 252, 35, 36, 253, 71, 254, 251, 1, 2, 3, 4]),
  );
  // 0→0, 10→a, 35→z, 36→0, 71→z, 251→z (251 % 36 = 35), 1→1, 2→2, 3→3, 4→4
  assert.equal(id, 'td-0az0zz1234');
  const typed: TrustDomainId = id;
  assert.ok(isResourceId('trustDomain', typed));
});

test('rejection sampling is exactly uniform: each character has 7 of the 252 accepted byte values', () => {
  const counts = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    // The first byte decides the first character, unless it is rejected; the filler (5) follows.
    const first = newResourceId('entry', (n) =>
      Uint8Array.from({ length: n }, (_, i) => (i === 0 ? b : 5)),
    )[2];
    if (b >= 252) {
      assert.equal(first, '5', `byte ${b} must be rejected`);
      continue;
    }
    assert.equal(first, RESOURCE_ID_ALPHABET[b % 36]);
    counts.set(first ?? '', (counts.get(first ?? '') ?? 0) + 1);
  }
  assert.equal(counts.size, 36);
  for (const ch of RESOURCE_ID_ALPHABET) assert.equal(counts.get(ch), 7, ch);
});

test('a broken random source is a programming error, not a silent bias', () => {
  assert.throws(
    () => newResourceId('cluster', () => new Uint8Array(14).fill(255)),
    /no usable bytes/,
  );
  assert.throws(() => newResourceId('cluster', () => new Uint8Array(1)), /returned 1 bytes/);
});

test('parseResourceId codes', () => {
  const cases: ReadonlyArray<readonly [string, ResourceIdErrorCode | 'ok']> = [
    ['td-0123456789', 'ok'],
    ['td-abcdefghij', 'ok'],
    ['', 'RESOURCE_ID_EMPTY'],
    ['tdd-0123456789', 'RESOURCE_ID_WRONG_PREFIX'],
    ['t-0123456789', 'RESOURCE_ID_WRONG_PREFIX'],
    ['TD-0123456789', 'RESOURCE_ID_WRONG_PREFIX'],
    ['td-012345678', 'RESOURCE_ID_WRONG_LENGTH'],
    ['td-01234567890', 'RESOURCE_ID_WRONG_LENGTH'],
    ['td-', 'RESOURCE_ID_WRONG_LENGTH'],
    ['td-012345678A', 'RESOURCE_ID_INVALID_CHAR'],
    ['td-01234-6789', 'RESOURCE_ID_INVALID_CHAR'],
  ];
  for (const [input, code] of cases) {
    const r = parseResourceId('trustDomain', input);
    assert.equal(r.ok ? 'ok' : r.error.code, code, input);
  }
  const wrong = parseResourceId('trustDomain', 'tdd-0123456789');
  assert.ok(!wrong.ok && wrong.error.code === 'RESOURCE_ID_WRONG_PREFIX');
  assert.equal(wrong.error.actualKind, 'deployment');
  assert.equal(wrong.error.expectedPrefix, 'td-');
  const bad = parseResourceId('trustDomain', 'td-012345678A');
  assert.ok(
    !bad.ok &&
      bad.error.code === 'RESOURCE_ID_INVALID_CHAR' &&
      bad.error.index === 12 &&
      bad.error.char === 'A',
  );
});

test('resourceKindOf recognises every prefix', () => {
  for (const kind of RESOURCE_KINDS) assert.equal(resourceKindOf(newResourceId(kind)), kind);
  assert.equal(resourceKindOf('x-0123456789'), undefined);
  assert.equal(resourceKindOf('td0123456789'), undefined);
});

// Property-based tests for DNS names (against a regex oracle) and registration entry validation
// (valid entries normalize idempotently; any invalid field is reported at its path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatSelector,
  parseDnsName,
  parseTrustDomain,
  unwrap,
  validateRegistrationEntry,
  type RegistrationEntry,
  type RegistrationEntryInput,
} from './index.js';

/**
 * RFC 1123 host name, or a whole-label wildcard on the left with two labels under it, as one
 * regex; the last label is not all digits (no IP literals).
 */
function oracleDnsName(s: string): boolean {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  const host = new RegExp(`^${label}(?:\\.${label})*$`);
  const wildcard = new RegExp(`^\\*\\.${label}(?:\\.${label})+$`);
  return s.length <= 253 && (host.test(s) || wildcard.test(s)) && !/(?:^|\.)[0-9]+$/.test(s);
}

const td = unwrap(parseTrustDomain('example.org'));

test('parseDnsName agrees with the regex oracle', () => {
  const piece = fc.constantFrom(
    'a',
    'Z',
    '0',
    '-',
    '.',
    '*',
    '_',
    'é',
    'ab',
    'xn--p1ai',
    '*.',
    '..',
    'a'.repeat(63),
    'a'.repeat(64),
  );
  const input = fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 30 }),
    fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
    fc
      .integer({ min: 240, max: 260 })
      .map((n) => `${'a'.repeat(60)}.`.repeat(5).slice(0, n).replace(/\.$/, 'b')),
  );
  fc.assert(
    fc.property(input, (s) => {
      const r = parseDnsName(s);
      assert.equal(r.ok, oracleDnsName(s), JSON.stringify(s));
      if (r.ok) assert.equal(r.value, s.toLowerCase());
    }),
    { numRuns: 3000 },
  );
});

const seg = fc
  .string({ unit: fc.constantFrom(...'abcxyzABC019._-'.split('')), minLength: 1, maxLength: 8 })
  .filter((s) => s !== '.' && s !== '..');
const id = fc
  .array(seg, { minLength: 1, maxLength: 4 })
  .map((segs) => `spiffe://example.org/${segs.join('/')}`);
const selector = fc
  .tuple(
    fc.constantFrom('unix', 'k8s', 'docker'),
    fc.constantFrom('uid:0', 'gid:1', 'ns:prod', 'a:b'),
  )
  .map(([t, v]) => `${t}:${v}`);
const dns = fc.constantFrom('a.example.org', 'B.example.org', '*.example.org', 'web');
const fed = fc.constantFrom('partner.example', 'spiffe://partner.example', 'other.test');

const validInput: fc.Arbitrary<RegistrationEntryInput> = fc
  .record(
    {
      spiffeId: id.filter((s) => !s.startsWith('spiffe://example.org/spire/')),
      parentId: id,
      selectors: fc.array(selector, { minLength: 1, maxLength: 6 }),
      x509SvidTtlSeconds: fc.integer({ min: 60, max: 30 * 86400 }),
      jwtSvidTtlSeconds: fc.integer({ min: 10, max: 86400 }),
      dnsNames: fc.array(dns, { maxLength: 4 }),
      federatesWith: fc.array(fed, { maxLength: 4 }),
      admin: fc.boolean(),
      downstream: fc.boolean(),
      hint: fc.string({ maxLength: 20 }).filter((h) => !/[\p{Cc}]/u.test(h)),
    },
    { requiredKeys: ['spiffeId', 'parentId', 'selectors'] },
  )
  .filter((e) => e.spiffeId !== e.parentId);

/** The normalized entry written back in input form. */
function asInput(e: RegistrationEntry): RegistrationEntryInput {
  return {
    ...e,
    spiffeId: e.spiffeId.toString(),
    parentId: e.parentId.toString(),
    selectors: e.selectors.map(formatSelector),
  };
}

test('valid entries are accepted, and normalizing twice changes nothing', () => {
  fc.assert(
    fc.property(validInput, (input) => {
      const once = unwrap(validateRegistrationEntry(input, td));
      const twice = unwrap(validateRegistrationEntry(asInput(once), td));
      assert.deepEqual(twice, once);
      assert.equal(once.selectors.length, new Set(input.selectors.map(String)).size);
    }),
    { numRuns: 500 },
  );
});

test('one broken field is reported at its path, and only there', () => {
  const cases: ReadonlyArray<readonly [string, Partial<RegistrationEntryInput>]> = [
    ['spiffeId', { spiffeId: 'spiffe://example.org/a/../b' }],
    ['parentId', { parentId: 'spiffe://other.org/agent' }],
    ['selectors[0]', { selectors: ['nocolon'] }],
    ['x509SvidTtlSeconds', { x509SvidTtlSeconds: 0 }],
    ['jwtSvidTtlSeconds', { jwtSvidTtlSeconds: 1.5 }],
    ['dnsNames[0]', { dnsNames: ['a..b'] }],
    ['federatesWith[0]', { federatesWith: ['example.org'] }],
    ['hint', { hint: 'x'.repeat(1025) }],
    ['expiresAt', { expiresAt: 'soon' }],
  ];
  const breakage = fc.constantFrom(...cases);
  fc.assert(
    fc.property(validInput, breakage, (input, [path, patch]) => {
      const r = validateRegistrationEntry({ ...input, ...patch }, td);
      assert.ok(!r.ok);
      assert.deepEqual(
        r.error.map((e) => e.path),
        [path],
      );
    }),
    { numRuns: 300 },
  );
});

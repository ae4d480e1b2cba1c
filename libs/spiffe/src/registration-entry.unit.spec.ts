import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSelector,
  JWT_SVID_TTL_MAX_SECONDS,
  JWT_SVID_TTL_MIN_SECONDS,
  MAX_ENTRY_DNS_NAMES,
  MAX_ENTRY_HINT_LENGTH,
  MAX_ENTRY_SELECTORS,
  parseTrustDomain,
  unwrap,
  validateRegistrationEntry,
  X509_SVID_TTL_MAX_SECONDS,
  X509_SVID_TTL_MIN_SECONDS,
  type EntryFieldError,
  type RegistrationEntryInput,
} from './index.js';

const td = unwrap(parseTrustDomain('example.org'));

const base: RegistrationEntryInput = {
  spiffeId: 'spiffe://example.org/ns/prod/sa/web',
  parentId: 'spiffe://example.org/spire/agent/k8s_psat/prod/node-1',
  selectors: ['k8s:ns:prod', 'k8s:sa:web'],
};

/** The [path, code] pairs of a rejected entry. */
function problems(input: unknown, now?: Date): Array<[string, string]> {
  const r = validateRegistrationEntry(
    input as RegistrationEntryInput,
    td,
    now === undefined ? {} : { now },
  );
  assert.equal(r.ok, false, 'expected the entry to be rejected');
  if (r.ok) throw new Error('unreachable');
  return r.error.map((e: EntryFieldError) => [e.path, e.code]);
}

test('a minimal entry is normalized with defaults and no undefined keys', () => {
  const entry = unwrap(validateRegistrationEntry(base, td));
  assert.equal(entry.spiffeId.toString(), base.spiffeId);
  assert.equal(entry.parentId.toString(), base.parentId);
  assert.deepEqual(entry.selectors.map(formatSelector), ['k8s:ns:prod', 'k8s:sa:web']);
  assert.deepEqual(entry.dnsNames, []);
  assert.deepEqual(entry.federatesWith, []);
  assert.equal(entry.admin, false);
  assert.equal(entry.downstream, false);
  assert.deepEqual(Object.keys(entry).sort(), [
    'admin',
    'dnsNames',
    'downstream',
    'federatesWith',
    'parentId',
    'selectors',
    'spiffeId',
  ]);
  assert.ok(Object.isFrozen(entry));
});

test('a full entry is normalized: canonical selectors, lowercase deduped DNS names, sorted federatesWith, UTC expiry', () => {
  const entry = unwrap(
    validateRegistrationEntry(
      {
        ...base,
        selectors: ['unix:uid:1000', { type: 'k8s', value: 'ns:prod' }, 'unix:uid:1000'],
        x509SvidTtlSeconds: 3600,
        jwtSvidTtlSeconds: 300,
        dnsNames: ['Web.Example.org', '*.web.example.org', 'web.example.org'],
        federatesWith: ['spiffe://partner.example', 'other.example', 'partner.example'],
        admin: true,
        downstream: true,
        hint: 'external',
        expiresAt: '2030-01-01T02:00:00.123456+02:00',
      },
      td,
      { now: new Date('2026-01-01T00:00:00Z') },
    ),
  );
  assert.deepEqual(entry.selectors.map(formatSelector), ['k8s:ns:prod', 'unix:uid:1000']);
  assert.equal(entry.x509SvidTtlSeconds, 3600);
  assert.equal(entry.jwtSvidTtlSeconds, 300);
  assert.deepEqual(entry.dnsNames, ['web.example.org', '*.web.example.org']);
  assert.deepEqual(entry.federatesWith, ['other.example', 'partner.example']);
  assert.equal(entry.admin, true);
  assert.equal(entry.downstream, true);
  assert.equal(entry.hint, 'external');
  assert.equal(entry.expiresAt, '2030-01-01T00:00:00.123Z');
});

test('SPIFFE ID and parent ID rules', () => {
  assert.deepEqual(problems({ ...base, spiffeId: 'spiffe://other.org/web' }), [
    ['spiffeId', 'ENTRY_SPIFFE_ID_NOT_IN_TRUST_DOMAIN'],
  ]);
  assert.deepEqual(problems({ ...base, spiffeId: 'spiffe://example.org' }), [
    ['spiffeId', 'ENTRY_SPIFFE_ID_NO_PATH'],
  ]);
  assert.deepEqual(problems({ ...base, spiffeId: 'spiffe://example.org/spire/agent/x' }), [
    ['spiffeId', 'ENTRY_SPIFFE_ID_RESERVED'],
  ]);
  assert.ok(
    validateRegistrationEntry({ ...base, spiffeId: 'spiffe://example.org/spire/x' }, td, {
      reservedPathSegments: [],
    }).ok,
    'reserved segments are configurable',
  );
  assert.deepEqual(problems({ ...base, spiffeId: 'spiffe://example.org/web/' }), [
    ['spiffeId', 'SPIFFE_ID_TRAILING_SLASH'],
  ]);
  assert.deepEqual(problems({ ...base, parentId: 'spiffe://example.org/a/../b' }), [
    ['parentId', 'SPIFFE_ID_DOT_SEGMENT'],
  ]);
  assert.deepEqual(problems({ ...base, parentId: 'spiffe://other.org/agent' }), [
    ['parentId', 'ENTRY_PARENT_ID_NOT_IN_TRUST_DOMAIN'],
  ]);
  assert.deepEqual(problems({ ...base, parentId: base.spiffeId }), [
    ['parentId', 'ENTRY_PARENT_IS_SELF'],
  ]);
  const r = validateRegistrationEntry({ ...base, spiffeId: 'spiffe://example.org/wörk' }, td);
  assert.ok(!r.ok);
  const cause = r.error[0]?.cause;
  assert.ok(
    cause !== undefined &&
      cause.code === 'SPIFFE_ID_INVALID_CHAR' &&
      cause.char === 'ö' &&
      cause.index === 22,
  );
});

test('selector rules', () => {
  assert.deepEqual(problems({ ...base, selectors: [] }), [['selectors', 'ENTRY_NO_SELECTORS']]);
  assert.deepEqual(
    problems({ ...base, selectors: ['k8s:ns:prod', 'bad', { type: 'unix', value: '' }, 7] }),
    [
      ['selectors[1]', 'SELECTOR_MISSING_SEPARATOR'],
      ['selectors[2]', 'SELECTOR_EMPTY_VALUE'],
      ['selectors[3]', 'ENTRY_WRONG_TYPE'],
    ],
  );
  const many = Array.from({ length: MAX_ENTRY_SELECTORS + 1 }, (_, i) => `unix:uid:${i}`);
  assert.deepEqual(problems({ ...base, selectors: many }), [['selectors', 'ENTRY_TOO_MANY_ITEMS']]);
});

test('TTL rules: whole seconds within the named bounds', () => {
  const ok = (x509SvidTtlSeconds: number, jwtSvidTtlSeconds: number) =>
    validateRegistrationEntry({ ...base, x509SvidTtlSeconds, jwtSvidTtlSeconds }, td).ok;
  assert.ok(ok(X509_SVID_TTL_MIN_SECONDS, JWT_SVID_TTL_MIN_SECONDS));
  assert.ok(ok(X509_SVID_TTL_MAX_SECONDS, JWT_SVID_TTL_MAX_SECONDS));
  assert.equal(X509_SVID_TTL_MAX_SECONDS, 30 * 86400);
  assert.deepEqual(problems({ ...base, x509SvidTtlSeconds: 0, jwtSvidTtlSeconds: -5 }), [
    ['x509SvidTtlSeconds', 'ENTRY_TTL_OUT_OF_RANGE'],
    ['jwtSvidTtlSeconds', 'ENTRY_TTL_OUT_OF_RANGE'],
  ]);
  assert.deepEqual(
    problems({
      ...base,
      x509SvidTtlSeconds: X509_SVID_TTL_MAX_SECONDS + 1,
      jwtSvidTtlSeconds: JWT_SVID_TTL_MAX_SECONDS + 1,
    }),
    [
      ['x509SvidTtlSeconds', 'ENTRY_TTL_OUT_OF_RANGE'],
      ['jwtSvidTtlSeconds', 'ENTRY_TTL_OUT_OF_RANGE'],
    ],
  );
  assert.deepEqual(
    problems({ ...base, x509SvidTtlSeconds: 3600.5, jwtSvidTtlSeconds: Number.NaN }),
    [
      ['x509SvidTtlSeconds', 'ENTRY_TTL_NOT_INTEGER'],
      ['jwtSvidTtlSeconds', 'ENTRY_TTL_NOT_INTEGER'],
    ],
  );
  assert.deepEqual(problems({ ...base, x509SvidTtlSeconds: '3600' }), [
    ['x509SvidTtlSeconds', 'ENTRY_WRONG_TYPE'],
  ]);
  assert.deepEqual(problems({ ...base, x509SvidTtlSeconds: Number.POSITIVE_INFINITY }), [
    ['x509SvidTtlSeconds', 'ENTRY_TTL_NOT_INTEGER'],
  ]);
});

test('DNS name rules', () => {
  assert.deepEqual(
    problems({ ...base, dnsNames: ['ok.example.org', 'a.*.example.org', 'under_score.org', ''] }),
    [
      ['dnsNames[1]', 'DNS_NAME_BAD_WILDCARD'],
      ['dnsNames[2]', 'DNS_NAME_INVALID_CHAR'],
      ['dnsNames[3]', 'DNS_NAME_EMPTY'],
    ],
  );
  const many = Array.from({ length: MAX_ENTRY_DNS_NAMES + 1 }, (_, i) => `h${i}.example.org`);
  assert.deepEqual(problems({ ...base, dnsNames: many }), [['dnsNames', 'ENTRY_TOO_MANY_ITEMS']]);
});

test('federatesWith rules', () => {
  assert.deepEqual(
    problems({
      ...base,
      federatesWith: [
        'example.org',
        'spiffe://example.org',
        'Partner.example',
        'spiffe://p.example/x',
        'https://p.example',
      ],
    }),
    [
      ['federatesWith[0]', 'ENTRY_FEDERATES_WITH_OWN_TRUST_DOMAIN'],
      ['federatesWith[1]', 'ENTRY_FEDERATES_WITH_OWN_TRUST_DOMAIN'],
      ['federatesWith[2]', 'TRUST_DOMAIN_UPPERCASE'],
      ['federatesWith[3]', 'TRUST_DOMAIN_HAS_PATH'],
      ['federatesWith[4]', 'TRUST_DOMAIN_HAS_SCHEME'],
    ],
  );
});

test('hint rules: at most 1024 code points, no control characters; empty means none', () => {
  assert.ok(
    validateRegistrationEntry({ ...base, hint: '😀'.repeat(MAX_ENTRY_HINT_LENGTH) }, td).ok,
  );
  assert.deepEqual(problems({ ...base, hint: 'x'.repeat(MAX_ENTRY_HINT_LENGTH + 1) }), [
    ['hint', 'ENTRY_HINT_TOO_LONG'],
  ]);
  assert.deepEqual(problems({ ...base, hint: 'a\nb' }), [['hint', 'ENTRY_HINT_INVALID_CHAR']]);
  const entry = unwrap(validateRegistrationEntry({ ...base, hint: '' }, td));
  assert.ok(!('hint' in entry));
});

test('expiresAt rules: RFC 3339, real calendar dates, after now when now is given', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  for (const bad of [
    '2030-02-30T00:00:00Z',
    '2030-13-01T00:00:00Z',
    '2030-01-01',
    '2030-01-01T24:00:00Z',
    'tomorrow',
    '2030-01-01T00:00:00',
  ]) {
    assert.deepEqual(
      problems({ ...base, expiresAt: bad }, now),
      [['expiresAt', 'ENTRY_EXPIRES_AT_INVALID']],
      bad,
    );
  }
  assert.deepEqual(problems({ ...base, expiresAt: '2026-06-01T00:00:00Z' }, now), [
    ['expiresAt', 'ENTRY_EXPIRES_AT_IN_PAST'],
  ]);
  assert.deepEqual(problems({ ...base, expiresAt: '2026-06-01T01:00:00+02:00' }, now), [
    ['expiresAt', 'ENTRY_EXPIRES_AT_IN_PAST'],
  ]);
  assert.equal(
    unwrap(validateRegistrationEntry({ ...base, expiresAt: '2028-02-29T23:59:59Z' }, td, { now }))
      .expiresAt,
    '2028-02-29T23:59:59.000Z',
  );
  assert.ok(
    validateRegistrationEntry({ ...base, expiresAt: '2020-01-01T00:00:00Z' }, td).ok,
    'without now, any date',
  );
});

test('every failing field is reported at once; wrong JSON types and missing fields have codes', () => {
  assert.deepEqual(
    problems({
      spiffeId: 42,
      selectors: 'unix:uid:0',
      admin: 'yes',
      dnsNames: null,
      federatesWith: {},
    }),
    [
      ['spiffeId', 'ENTRY_WRONG_TYPE'],
      ['parentId', 'ENTRY_FIELD_REQUIRED'],
      ['selectors', 'ENTRY_WRONG_TYPE'],
      ['dnsNames', 'ENTRY_FIELD_REQUIRED'],
      ['federatesWith', 'ENTRY_WRONG_TYPE'],
      ['admin', 'ENTRY_WRONG_TYPE'],
    ],
  );
  const r = validateRegistrationEntry({ ...base, spiffeId: 'spiffe://example.org/a//b' }, td);
  assert.ok(!r.ok);
  assert.match(r.error[0]?.message ?? '', /^spiffeId: /);
});

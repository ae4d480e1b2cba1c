import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isMemberOf,
  isSpiffeId,
  isSpiffeIdString,
  MAX_SPIFFE_ID_BYTES,
  parseSpiffeId,
  parseTrustDomain,
  spiffeIdFromParts,
  unwrap,
  type SpiffeIdError,
  type SpiffeIdErrorCode,
} from './index.js';

function failure(input: string): SpiffeIdError {
  const r = parseSpiffeId(input);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

test('parses the spec examples into trust domain, path and segments', () => {
  const examples: ReadonlyArray<readonly [string, string, string, readonly string[]]> = [
    ['spiffe://trust-domain-name/path', 'trust-domain-name', '/path', ['path']],
    [
      'spiffe://staging.example.com/payments/mysql',
      'staging.example.com',
      '/payments/mysql',
      ['payments', 'mysql'],
    ],
    [
      'spiffe://staging.example.com/payments/web-fe',
      'staging.example.com',
      '/payments/web-fe',
      ['payments', 'web-fe'],
    ],
    [
      'spiffe://k8s-west.example.com/ns/staging/sa/default',
      'k8s-west.example.com',
      '/ns/staging/sa/default',
      ['ns', 'staging', 'sa', 'default'],
    ],
    [
      'spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453',
      'example.com',
      '/9eebccd2-12bf-40a6-b262-65fe0487d453',
      ['9eebccd2-12bf-40a6-b262-65fe0487d453'],
    ],
    ['spiffe://example.org', 'example.org', '', []],
    [
      'spiffe://example.org/Mixed_Case.and-dots',
      'example.org',
      '/Mixed_Case.and-dots',
      ['Mixed_Case.and-dots'],
    ],
    ['spiffe://example.org/.../a..b/.x', 'example.org', '/.../a..b/.x', ['...', 'a..b', '.x']],
  ];
  for (const [input, td, path, segments] of examples) {
    const id = unwrap(parseSpiffeId(input));
    assert.equal(id.trustDomain, td);
    assert.equal(id.path, path);
    assert.deepEqual(id.segments, segments);
    assert.equal(id.toString(), input);
    assert.equal(`${id}`, input);
    assert.equal(JSON.stringify({ id }), JSON.stringify({ id: input }));
    assert.ok(isSpiffeId(id));
    assert.ok(isSpiffeIdString(input));
    assert.ok(Object.isFrozen(id));
  }
});

test('every rule has its code and the index points at the culprit', () => {
  const cases: ReadonlyArray<readonly [string, SpiffeIdErrorCode, number | undefined]> = [
    ['', 'SPIFFE_ID_EMPTY', undefined],
    ['example.org/workload', 'SPIFFE_ID_MISSING_SCHEME', undefined],
    ['spiffe:/example.org/workload', 'SPIFFE_ID_MISSING_SCHEME', undefined],
    ['://example.org/workload', 'SPIFFE_ID_MISSING_SCHEME', undefined],
    ['https://example.org/workload', 'SPIFFE_ID_WRONG_SCHEME', undefined],
    ['SPIFFE://example.org/workload', 'SPIFFE_ID_WRONG_SCHEME', undefined],
    ['Spiffe://example.org/workload', 'SPIFFE_ID_WRONG_SCHEME', undefined],
    ['spiffe://example.org/workload?x=1', 'SPIFFE_ID_HAS_QUERY', 29],
    ['spiffe://example.org/workload#frag', 'SPIFFE_ID_HAS_FRAGMENT', 29],
    ['spiffe://example.org?x', 'SPIFFE_ID_HAS_QUERY', 20],
    ['spiffe://', 'TRUST_DOMAIN_EMPTY', undefined],
    ['spiffe:///workload', 'TRUST_DOMAIN_EMPTY', undefined],
    ['spiffe://user@example.org/workload', 'TRUST_DOMAIN_HAS_USERINFO', 13],
    ['spiffe://example.org:8443/workload', 'TRUST_DOMAIN_HAS_PORT', 20],
    ['spiffe://example.org:/workload', 'TRUST_DOMAIN_HAS_PORT', 20],
    ['spiffe://[::1]/workload', 'TRUST_DOMAIN_HAS_PORT', 10],
    ['spiffe://ex%41mple.org/workload', 'TRUST_DOMAIN_PERCENT_ENCODED', 11],
    ['spiffe://Example.org/workload', 'TRUST_DOMAIN_UPPERCASE', 9],
    ['spiffe://ex ample.org/workload', 'TRUST_DOMAIN_INVALID_CHAR', 11],
    ['spiffe://example.org/', 'SPIFFE_ID_TRAILING_SLASH', 20],
    ['spiffe://example.org/workload/', 'SPIFFE_ID_TRAILING_SLASH', 29],
    ['spiffe://example.org//workload', 'SPIFFE_ID_EMPTY_SEGMENT', 21],
    ['spiffe://example.org/a//b', 'SPIFFE_ID_EMPTY_SEGMENT', 23],
    ['spiffe://example.org/.', 'SPIFFE_ID_DOT_SEGMENT', 21],
    ['spiffe://example.org/..', 'SPIFFE_ID_DOT_SEGMENT', 21],
    ['spiffe://example.org/a/./b', 'SPIFFE_ID_DOT_SEGMENT', 23],
    ['spiffe://example.org/a/../b', 'SPIFFE_ID_DOT_SEGMENT', 23],
    ['spiffe://example.org/pa%2Fth', 'SPIFFE_ID_PERCENT_ENCODED', 23],
    ['spiffe://example.org/wörk', 'SPIFFE_ID_INVALID_CHAR', 22],
    ['spiffe://example.org/a b', 'SPIFFE_ID_INVALID_CHAR', 22],
    ['spiffe://example.org/a:b', 'SPIFFE_ID_INVALID_CHAR', 22],
    ['spiffe://example.org/a@b', 'SPIFFE_ID_INVALID_CHAR', 22],
    ['spiffe://example.org/a\\b', 'SPIFFE_ID_INVALID_CHAR', 22],
  ];
  for (const [input, code, index] of cases) {
    const e = failure(input);
    assert.equal(e.code, code, input);
    if (index !== undefined) assert.equal('index' in e ? e.index : -1, index, input);
  }
});

test('wrong scheme reports the scheme; invalid chars report the char', () => {
  const e = failure('HTTPS://example.org/x');
  assert.ok(e.code === 'SPIFFE_ID_WRONG_SCHEME' && e.scheme === 'HTTPS');
  const c = failure('spiffe://example.org/😀');
  assert.ok(c.code === 'SPIFFE_ID_INVALID_CHAR' && c.char === '😀' && c.index === 21);
  const d = failure('spiffe://example.org/..');
  assert.ok(d.code === 'SPIFFE_ID_DOT_SEGMENT' && d.segment === '..');
});

test('SPIFFE_ID_TOO_LONG: 2048 bytes is the last valid length, counted in UTF-8', () => {
  const prefix = 'spiffe://example.org/';
  const max = prefix + 'a'.repeat(MAX_SPIFFE_ID_BYTES - prefix.length);
  assert.equal(max.length, 2048);
  assert.ok(parseSpiffeId(max).ok);
  const e = failure(max + 'a');
  assert.ok(e.code === 'SPIFFE_ID_TOO_LONG' && e.max === 2048 && e.actual === 2049);
  assert.equal(failure(prefix + 'é'.repeat(1020)).code, 'SPIFFE_ID_TOO_LONG');
  assert.equal(failure('spiffe://' + 'a'.repeat(256) + '/x').code, 'TRUST_DOMAIN_TOO_LONG');
});

test('isMemberOf compares the trust domain', () => {
  const id = unwrap(parseSpiffeId('spiffe://example.org/web'));
  assert.ok(isMemberOf(id, unwrap(parseTrustDomain('example.org'))));
  assert.ok(!isMemberOf(id, 'example.com'));
  assert.ok(!isMemberOf(id, 'org'));
  assert.ok(!isMemberOf(unwrap(parseSpiffeId('spiffe://sub.example.org/web')), 'example.org'));
});

test('spiffeIdFromParts builds the same value parse produces, and validates each part', () => {
  const built = unwrap(spiffeIdFromParts('example.org', 'ns', 'prod', 'sa', 'web'));
  assert.equal(built.toString(), 'spiffe://example.org/ns/prod/sa/web');
  assert.deepEqual(built, unwrap(parseSpiffeId('spiffe://example.org/ns/prod/sa/web')));
  assert.equal(unwrap(spiffeIdFromParts('example.org')).toString(), 'spiffe://example.org');

  const codes: ReadonlyArray<readonly [readonly [string, ...string[]], SpiffeIdErrorCode]> = [
    [['Example.org', 'x'], 'TRUST_DOMAIN_UPPERCASE'],
    [[''], 'TRUST_DOMAIN_EMPTY'],
    [['example.org', 'a/b'], 'SPIFFE_ID_INVALID_CHAR'],
    [['example.org', ''], 'SPIFFE_ID_EMPTY_SEGMENT'],
    [['example.org', 'a', '', 'b'], 'SPIFFE_ID_EMPTY_SEGMENT'],
    [['example.org', '..'], 'SPIFFE_ID_DOT_SEGMENT'],
    [['example.org', '%41'], 'SPIFFE_ID_PERCENT_ENCODED'],
    [['example.org', 'a?b'], 'SPIFFE_ID_INVALID_CHAR'],
    [['example.org', 'a'.repeat(2048)], 'SPIFFE_ID_TOO_LONG'],
  ];
  for (const [[td, ...segments], code] of codes) {
    const r = spiffeIdFromParts(td, ...segments);
    assert.equal(r.ok ? 'ok' : r.error.code, code, JSON.stringify([td, ...segments]));
  }
  const slash = spiffeIdFromParts('example.org', 'a/b');
  assert.ok(!slash.ok && slash.error.code === 'SPIFFE_ID_INVALID_CHAR' && slash.error.index === 22);
});

test('isSpiffeId rejects look-alike plain objects', () => {
  assert.ok(!isSpiffeId({ trustDomain: 'example.org', path: '', segments: [] }));
  assert.ok(!isSpiffeId('spiffe://example.org'));
});

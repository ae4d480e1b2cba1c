import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isTrustDomain,
  MAX_TRUST_DOMAIN_BYTES,
  parseTrustDomain,
  parseTrustDomainKey,
  trustDomainKey,
  unwrap,
  SpiffeValidationError,
  type TrustDomainError,
  type TrustDomainKeyError,
} from './index.js';

function failure(input: string): TrustDomainError {
  const r = parseTrustDomain(input);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

test('accepts the spec examples and other names made of [a-z0-9._-]', () => {
  for (const name of [
    'trust-domain-name',
    'staging.example.com',
    'k8s-west.example.com',
    'example.com',
    'trust_domain_name.example.com', // SPIFFE-ID §2.1.1 example
    '192.168.0.1', // dotted-quad IPv4 is not excluded (§2.1)
    'a',
    '-._',
    '9eebccd2-12bf-40a6-b262-65fe0487d453',
  ]) {
    const r = parseTrustDomain(name);
    assert.ok(r.ok, name);
    assert.equal(r.value, name, 'no normalization');
    assert.ok(isTrustDomain(name));
  }
});

test('TRUST_DOMAIN_EMPTY', () => {
  assert.equal(failure('').code, 'TRUST_DOMAIN_EMPTY');
});

test('TRUST_DOMAIN_TOO_LONG counts UTF-8 bytes, 255 is the last valid length', () => {
  assert.ok(parseTrustDomain('a'.repeat(MAX_TRUST_DOMAIN_BYTES)).ok);
  const e = failure('a'.repeat(256));
  assert.deepEqual(
    { code: e.code, max: 'max' in e ? e.max : -1, actual: 'actual' in e ? e.actual : -1 },
    { code: 'TRUST_DOMAIN_TOO_LONG', max: 255, actual: 256 },
  );
  // 128 × "é" is 128 characters but 256 bytes.
  assert.equal(failure('é'.repeat(128)).code, 'TRUST_DOMAIN_TOO_LONG');
});

test('structural rules: scheme, path, userinfo, port, percent-encoding, each with the index', () => {
  const cases: ReadonlyArray<readonly [string, TrustDomainError['code'], number]> = [
    ['spiffe://example.org', 'TRUST_DOMAIN_HAS_SCHEME', 6],
    ['https://example.org', 'TRUST_DOMAIN_HAS_SCHEME', 5],
    ['SPIFFE://Example.org', 'TRUST_DOMAIN_HAS_SCHEME', 6],
    ['example.org/path', 'TRUST_DOMAIN_HAS_PATH', 11],
    ['example.org/', 'TRUST_DOMAIN_HAS_PATH', 11],
    ['user@example.org', 'TRUST_DOMAIN_HAS_USERINFO', 4],
    ['example.org:8443', 'TRUST_DOMAIN_HAS_PORT', 11],
    ['example.org:', 'TRUST_DOMAIN_HAS_PORT', 11],
    ['[::1]', 'TRUST_DOMAIN_HAS_PORT', 1], // IPv6 is excluded (§2.1)
    ['exa%6Dple.org', 'TRUST_DOMAIN_PERCENT_ENCODED', 3],
  ];
  for (const [input, code, index] of cases) {
    const e = failure(input);
    assert.equal(e.code, code, input);
    assert.equal('index' in e ? e.index : -1, index, input);
  }
});

test('TRUST_DOMAIN_UPPERCASE and TRUST_DOMAIN_INVALID_CHAR name the character and its position', () => {
  assert.deepEqual(pick(failure('Example.org')), {
    code: 'TRUST_DOMAIN_UPPERCASE',
    char: 'E',
    index: 0,
  });
  assert.deepEqual(pick(failure('exAmple.org')), {
    code: 'TRUST_DOMAIN_UPPERCASE',
    char: 'A',
    index: 2,
  });
  assert.deepEqual(pick(failure('exa mple')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: ' ',
    index: 3,
  });
  assert.deepEqual(pick(failure('bücher.de')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: 'ü',
    index: 1,
  });
  assert.deepEqual(pick(failure('a😀b')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: '😀',
    index: 1,
  });
  assert.deepEqual(pick(failure('a+b')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: '+',
    index: 1,
  });
  assert.deepEqual(pick(failure('a?b')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: '?',
    index: 1,
  });
  assert.deepEqual(pick(failure('a\u0000')), {
    code: 'TRUST_DOMAIN_INVALID_CHAR',
    char: '\u0000',
    index: 1,
  });
  const e = failure('Example.org');
  assert.match(e.message, /lowercase/);
  assert.match(e.message, /U\+0045/);
});

test('structural problems win over character problems', () => {
  assert.equal(failure('HTTPS://Example.org').code, 'TRUST_DOMAIN_HAS_SCHEME');
  assert.equal(failure('User@Example.org').code, 'TRUST_DOMAIN_HAS_USERINFO');
});

test('parseTrustDomainKey accepts exactly spiffe://<td>, for bundle map keys', () => {
  const r = parseTrustDomainKey('spiffe://example.org');
  assert.ok(r.ok);
  assert.equal(r.value, 'example.org');
  assert.equal(trustDomainKey(r.value), 'spiffe://example.org');

  const codes: ReadonlyArray<readonly [string, TrustDomainKeyError['code']]> = [
    ['', 'SPIFFE_ID_MISSING_SCHEME'],
    ['example.org', 'SPIFFE_ID_MISSING_SCHEME'],
    ['spiffe:example.org', 'SPIFFE_ID_MISSING_SCHEME'],
    ['https://example.org', 'SPIFFE_ID_WRONG_SCHEME'],
    ['SPIFFE://example.org', 'SPIFFE_ID_WRONG_SCHEME'],
    ['spiffe://', 'TRUST_DOMAIN_EMPTY'],
    ['spiffe://example.org/', 'TRUST_DOMAIN_HAS_PATH'],
    ['spiffe://example.org/workload', 'TRUST_DOMAIN_HAS_PATH'],
    ['spiffe://example.org:443', 'TRUST_DOMAIN_HAS_PORT'],
    ['spiffe://Example.org', 'TRUST_DOMAIN_UPPERCASE'],
    ['spiffe://' + 'a'.repeat(256), 'TRUST_DOMAIN_TOO_LONG'],
  ];
  for (const [input, code] of codes) {
    const k = parseTrustDomainKey(input);
    assert.equal(k.ok ? 'ok' : k.error.code, code, input);
  }
  const k = parseTrustDomainKey('spiffe://Example.org');
  assert.ok(!k.ok && 'index' in k.error && k.error.index === 9, 'index is into the whole key');
});

test('unwrap returns the value or throws SpiffeValidationError carrying the code', () => {
  assert.equal(unwrap(parseTrustDomain('example.org')), 'example.org');
  assert.throws(
    () => unwrap(parseTrustDomain('Example.org')),
    (e: unknown) =>
      e instanceof SpiffeValidationError &&
      e.code === 'TRUST_DOMAIN_UPPERCASE' &&
      e.detail.code === e.code,
  );
});

function pick(e: TrustDomainError): { code: string; char?: string; index?: number } {
  return 'char' in e ? { code: e.code, char: e.char, index: e.index } : { code: e.code };
}

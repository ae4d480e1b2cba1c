import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_DNS_LABEL_LENGTH,
  MAX_DNS_NAME_LENGTH,
  parseDnsName,
  type DnsNameErrorCode,
} from './index.js';

test('accepts RFC 1123 host names and a left-most wildcard label; lowercases', () => {
  for (const [input, out] of [
    ['example.com', 'example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['3com.com', '3com.com'], // RFC 1123 §2.1 allows a leading digit
    ['localhost', 'localhost'],
    ['a-b.c-d', 'a-b.c-d'],
    ['*.example.com', '*.example.com'],
    ['*.a.b', '*.a.b'],
    ['10.0.0.a', '10.0.0.a'],
    ['1a', '1a'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ]) {
    const r = parseDnsName(input as string);
    assert.ok(r.ok, input);
    assert.equal(r.value, out);
  }
  const label = 'a'.repeat(MAX_DNS_LABEL_LENGTH);
  assert.ok(parseDnsName(`${label}.${label}.${label}.${'a'.repeat(61)}`).ok, '253 characters');
});

test('each rule has its code', () => {
  const label = 'a'.repeat(MAX_DNS_LABEL_LENGTH);
  const cases: ReadonlyArray<readonly [string, DnsNameErrorCode]> = [
    ['', 'DNS_NAME_EMPTY'],
    [`${label}.${label}.${label}.${'a'.repeat(62)}`, 'DNS_NAME_TOO_LONG'],
    ['a'.repeat(MAX_DNS_NAME_LENGTH + 1), 'DNS_NAME_TOO_LONG'],
    [`${label}a.com`, 'DNS_NAME_LABEL_TOO_LONG'],
    ['.example.com', 'DNS_NAME_EMPTY_LABEL'],
    ['example..com', 'DNS_NAME_EMPTY_LABEL'],
    ['example.com.', 'DNS_NAME_EMPTY_LABEL'],
    ['-example.com', 'DNS_NAME_LABEL_HYPHEN'],
    ['example-.com', 'DNS_NAME_LABEL_HYPHEN'],
    ['*', 'DNS_NAME_BAD_WILDCARD'],
    ['a.*.example.com', 'DNS_NAME_BAD_WILDCARD'],
    ['*a.example.com', 'DNS_NAME_BAD_WILDCARD'],
    ['a*.example.com', 'DNS_NAME_BAD_WILDCARD'],
    ['*.*.example.com', 'DNS_NAME_BAD_WILDCARD'],
    ['example.*', 'DNS_NAME_BAD_WILDCARD'],
    // A wildcard needs two labels under it: `*.com` would match every .com host.
    ['*.com', 'DNS_NAME_BAD_WILDCARD'],
    ['*.localhost', 'DNS_NAME_BAD_WILDCARD'],
    // IP literals are not DNS names (RFC 3696 §2: a top-level label is never all-numeric).
    ['10.0.0.1', 'DNS_NAME_NUMERIC_TLD'],
    ['127.1', 'DNS_NAME_NUMERIC_TLD'],
    ['2130706433', 'DNS_NAME_NUMERIC_TLD'],
    ['*.1.2.3', 'DNS_NAME_NUMERIC_TLD'],
    ['::1', 'DNS_NAME_INVALID_CHAR'],
    ['[fe80::1]', 'DNS_NAME_INVALID_CHAR'],
    ['under_score.example.com', 'DNS_NAME_INVALID_CHAR'],
    ['bücher.example', 'DNS_NAME_INVALID_CHAR'],
    ['exa mple.com', 'DNS_NAME_INVALID_CHAR'],
    ['example.com:443', 'DNS_NAME_INVALID_CHAR'],
  ];
  for (const [input, code] of cases) {
    const r = parseDnsName(input);
    assert.equal(r.ok ? 'ok' : r.error.code, code, input);
  }
  const r = parseDnsName('ok.b_d.com');
  assert.ok(
    !r.ok &&
      r.error.code === 'DNS_NAME_INVALID_CHAR' &&
      r.error.index === 4 &&
      r.error.char === '_',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalSelectors,
  compareSelectors,
  formatSelector,
  MAX_SELECTOR_TYPE_BYTES,
  MAX_SELECTOR_VALUE_BYTES,
  parseSelector,
  selectorFromParts,
  selectorsMatch,
  unwrap,
  type Selector,
  type SelectorErrorCode,
} from './index.js';

const sel = (s: string): Selector => unwrap(parseSelector(s));

test('splits at the first ":"; the value keeps the rest', () => {
  assert.deepEqual(sel('unix:uid:1000'), { type: 'unix', value: 'uid:1000' });
  assert.deepEqual(sel('k8s:ns:prod'), { type: 'k8s', value: 'ns:prod' });
  assert.deepEqual(sel('docker:label:com.example:a=b'), {
    type: 'docker',
    value: 'label:com.example:a=b',
  });
  assert.deepEqual(sel('unix:path:/usr/bin/ünïcode app'), {
    type: 'unix',
    value: 'path:/usr/bin/ünïcode app',
  });
  assert.deepEqual(sel('spiffe_id:spiffe://example.org/x'), {
    type: 'spiffe_id',
    value: 'spiffe://example.org/x',
  });
  assert.deepEqual(sel('x:😀'), { type: 'x', value: '😀' });
  assert.equal(formatSelector(sel('unix:uid:1000')), 'unix:uid:1000');
  assert.deepEqual(unwrap(selectorFromParts('unix', 'gid:0')), { type: 'unix', value: 'gid:0' });
});

test('each rule has its code', () => {
  const cases: ReadonlyArray<readonly [string, SelectorErrorCode]> = [
    ['', 'SELECTOR_EMPTY'],
    ['unix', 'SELECTOR_MISSING_SEPARATOR'],
    [':uid:1000', 'SELECTOR_EMPTY_TYPE'],
    ['unix:', 'SELECTOR_EMPTY_VALUE'],
    ['t'.repeat(MAX_SELECTOR_TYPE_BYTES + 1) + ':v', 'SELECTOR_TYPE_TOO_LONG'],
    ['unix:' + 'v'.repeat(MAX_SELECTOR_VALUE_BYTES + 1), 'SELECTOR_VALUE_TOO_LONG'],
    ['Unix:uid:0', 'SELECTOR_INVALID_TYPE_CHAR'],
    ['un ix:uid:0', 'SELECTOR_INVALID_TYPE_CHAR'],
    ['unix:uid:0\n', 'SELECTOR_CONTROL_CHAR'],
    ['unix:uid:\u00000', 'SELECTOR_CONTROL_CHAR'],
    ['unix:uid\u007f', 'SELECTOR_CONTROL_CHAR'],
    ['unix:uid\u0085', 'SELECTOR_CONTROL_CHAR'],
    ['unix:uid\ud800', 'SELECTOR_INVALID_UNICODE'],
  ];
  for (const [input, code] of cases) {
    const r = parseSelector(input);
    assert.equal(r.ok ? 'ok' : r.error.code, code, JSON.stringify(input));
  }
  assert.ok(parseSelector('t'.repeat(MAX_SELECTOR_TYPE_BYTES) + ':v').ok);
  assert.ok(parseSelector('unix:' + 'v'.repeat(MAX_SELECTOR_VALUE_BYTES)).ok);
  const r = parseSelector('unix:uid:0\n');
  assert.ok(
    !r.ok &&
      r.error.code === 'SELECTOR_CONTROL_CHAR' &&
      r.error.index === 10 &&
      r.error.char === '\n',
  );
});

test('canonicalSelectors sorts by type then value (code units, not locale) and removes duplicates', () => {
  const input = [
    'unix:uid:1000',
    'k8s:ns:prod',
    'unix:gid:0',
    'k8s:ns:prod',
    'K8s'.toLowerCase() + ':a',
    'unix:Z',
  ].map(sel);
  assert.deepEqual(canonicalSelectors(input).map(formatSelector), [
    'k8s:a',
    'k8s:ns:prod',
    'unix:Z',
    'unix:gid:0',
    'unix:uid:1000',
  ]);
  assert.ok(Object.isFrozen(canonicalSelectors(input)));
  assert.equal(compareSelectors(sel('a:b'), sel('a:b')), 0);
});

test('selectorsMatch: the entry matches when all its selectors are among the workload selectors', () => {
  const workload = ['unix:uid:1000', 'unix:gid:1000', 'unix:path:/usr/bin/app'].map(sel);
  assert.ok(selectorsMatch(workload, [sel('unix:uid:1000')]));
  assert.ok(selectorsMatch(workload, [sel('unix:uid:1000'), sel('unix:gid:1000')]));
  assert.ok(selectorsMatch(workload, workload));
  assert.ok(
    !selectorsMatch(workload, [sel('unix:uid:1000'), sel('unix:gid:0')]),
    'one missing selector → no match',
  );
  assert.ok(!selectorsMatch([sel('unix:uid:1000')], workload), 'superset entry does not match');
  assert.ok(!selectorsMatch(workload, []), 'entry without selectors matches nothing (fail closed)');
  assert.ok(!selectorsMatch([], [sel('unix:uid:0')]));
});

test('selectorsMatch does not confuse type and value boundaries of hand-built selectors', () => {
  assert.ok(!selectorsMatch([{ type: 'a:b', value: 'c' }], [{ type: 'a', value: 'b:c' }]));
});

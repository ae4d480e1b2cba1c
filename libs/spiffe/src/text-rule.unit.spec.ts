import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonText, checkText, looksLikeResourceId, newResourceId, RESOURCE_KINDS, type TextErrorCode, type TextRule } from './index.js';

const line: TextRule = { maxLength: 20 };
const lines: TextRule = { maxLength: 20, multiline: true };

function codeOf(value: string, rule = line): TextErrorCode | undefined {
  const checked = checkText(value, rule);
  return checked.ok ? undefined : checked.error.code;
}

test('every character PostgreSQL or a terminal cannot take is refused, with its offset', () => {
  const cases: [string, TextErrorCode][] = [
    ['a\u0000b', 'TEXT_NUL'],
    ['a\ud800b', 'TEXT_LONE_SURROGATE'],
    ['a\udc00', 'TEXT_LONE_SURROGATE'],
    ['\udc00\ud800', 'TEXT_LONE_SURROGATE'],
    ['a\u0001', 'TEXT_CONTROL_CHAR'],
    ['\u001b[31mred', 'TEXT_CONTROL_CHAR'],
    ['del\u007f', 'TEXT_CONTROL_CHAR'],
    ['c1\u0085', 'TEXT_CONTROL_CHAR'],
    ['a\nb', 'TEXT_CONTROL_CHAR'],
    ['a\tb', 'TEXT_CONTROL_CHAR'],
    ['a\u2028b', 'TEXT_CONTROL_CHAR'],
    ['admin\u202egpj.exe', 'TEXT_BIDI_CONTROL'],
    ['x\u2066y', 'TEXT_BIDI_CONTROL'],
    ['x\ufffe', 'TEXT_NONCHARACTER'],
    ['x\ufdd0', 'TEXT_NONCHARACTER'],
    ['x\u{1ffff}', 'TEXT_NONCHARACTER'],
  ];
  for (const [value, code] of cases) assert.equal(codeOf(value), code, JSON.stringify(value));
  const nul = checkText('ab\u0000', line);
  assert.equal(nul.ok ? -1 : nul.error.index, 2);
});

test('multi-line fields take tabs and line breaks but nothing else', () => {
  assert.equal(codeOf('line\nnext\tcol\r\n', lines), undefined);
  assert.equal(codeOf('a\u2028b', lines), undefined);
  assert.equal(codeOf('a\u0000\n', lines), 'TEXT_NUL');
  assert.equal(codeOf('a\u000b', lines), 'TEXT_CONTROL_CHAR');
});

test('values are returned in NFC and measured in code points after normalization', () => {
  const decomposed = 'Cafe\u0301';
  const checked = checkText(decomposed, line);
  assert.ok(checked.ok);
  assert.equal(checked.value, 'Caf\u00e9');
  assert.equal(checked.value.length, 4);
  // Astral characters count once; emoji with joiners are fine.
  assert.equal(codeOf('\u{1f600}'.repeat(20)), undefined);
  assert.equal(codeOf('\u{1f600}'.repeat(21)), 'TEXT_TOO_LONG');
  assert.equal(codeOf('\u{1f469}\u200d\u{1f4bb}'), undefined);
  assert.equal(codeOf('', { maxLength: 5, minLength: 1 }), 'TEXT_TOO_SHORT');
});

test('JSON documents: every key and string value is checked, depth is bounded, strings are normalized', () => {
  const rule = { maxDepth: 3, key: { maxLength: 10 }, value: { maxLength: 10, multiline: true } };
  const fine = checkJsonText({ a: ['x', 1, true, null, { b: 'Cafe\u0301' }] }, { ...rule, maxDepth: 4 });
  assert.ok(fine.ok);
  assert.deepEqual(fine.value, { a: ['x', 1, true, null, { b: 'Caf\u00e9' }] });
  const bad = (document: unknown, maxDepth = 3) => {
    const checked = checkJsonText(document, { ...rule, maxDepth }, 'config');
    return checked.ok ? undefined : [checked.error.code, checked.error.path];
  };
  assert.deepEqual(bad({ a: ['ok', 'x\u0000'] }), ['TEXT_NUL', 'config.a[1]']);
  assert.deepEqual(bad({ 'k\ud800': 1 }), ['TEXT_LONE_SURROGATE', 'config']);
  assert.deepEqual(bad([[[[1]]]]), ['JSON_TOO_DEEP', 'config[0][0][0]']);
  assert.deepEqual(bad({ n: Number.POSITIVE_INFINITY }), ['JSON_NOT_PLAIN', 'config.n']);
  assert.deepEqual(bad({ 'Cafe\u0301': 1, 'Caf\u00e9': 2 }), ['JSON_NOT_PLAIN', 'config.Caf\u00e9']);
});

test('strings shaped like resource IDs are recognized, other names are not', () => {
  for (const kind of RESOURCE_KINDS) {
    const id = newResourceId(kind);
    assert.ok(looksLikeResourceId(id), id);
    assert.ok(looksLikeResourceId(id.toUpperCase()), id.toUpperCase());
  }
  assert.ok(looksLikeResourceId('jt-0123456789', ['jt-']));
  assert.ok(!looksLikeResourceId('jt-0123456789'));
  for (const name of ['td-012345678', 'td-0123456789a', 'td-example.org', 'c-prod', 'production', 'td-01234_6789', 'example.org']) {
    assert.ok(!looksLikeResourceId(name), name);
  }
});

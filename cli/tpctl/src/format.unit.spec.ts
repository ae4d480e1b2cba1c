import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cellText,
  countFooter,
  renderJson,
  renderKeyValues,
  renderList,
  renderTable,
} from './format.js';

test('tables size each column to its widest cell, two spaces apart, no trailing spaces', () => {
  assert.equal(
    renderTable(
      ['Name', 'ID', 'Ok'],
      [
        ['a', 'td-1', true],
        ['longer-name', null, false],
      ],
    ),
    'Name         ID    Ok\n' + 'a            td-1  true\n' + 'longer-name  -     false\n',
  );
});

test('a short last column leaves no padding behind', () => {
  assert.equal(renderTable(['A', 'Longer header'], [['x', '']]), 'A  Longer header\nx  -\n');
});

test('cells: null, undefined and empty strings render as -, numbers and booleans as text', () => {
  assert.deepEqual([null, undefined, '', 0, false, 'x'].map(cellText), [
    '-',
    '-',
    '-',
    '0',
    'false',
    'x',
  ]);
});

test('key/values align the values in one column', () => {
  assert.equal(
    renderKeyValues([
      ['Name', 'example.org'],
      ['JWKS endpoint', null],
      ['Clusters', 2],
    ]),
    'Name:          example.org\n' + 'JWKS endpoint: -\n' + 'Clusters:      2\n',
  );
});

test('footers count with the right plural, and say so when empty', () => {
  const noun = { one: 'trust domain', many: 'trust domains' };
  assert.equal(countFooter(0, noun), 'No trust domains found.\n');
  assert.equal(countFooter(1, noun), '1 trust domain found.\n');
  assert.equal(countFooter(12, noun), '12 trust domains found.\n');
  assert.equal(countFooter(2, { one: 'entry', many: 'entries' }), '2 entries found.\n');
});

test('an empty list prints only its footer', () => {
  assert.equal(renderList(['A'], [], { one: 'entry', many: 'entries' }), 'No entries found.\n');
  assert.equal(
    renderList(['A'], [['x']], { one: 'entry', many: 'entries' }),
    'A\nx\n1 entry found.\n',
  );
});

test('json output is the value, pretty-printed, with a newline', () => {
  assert.equal(renderJson([{ a: 1 }]), '[\n  {\n    "a": 1\n  }\n]\n');
});

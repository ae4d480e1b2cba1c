// Property-based tests for selectors: parsing against an independent oracle, and the algebra of
// selectorsMatch (subset semantics) and canonicalSelectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  canonicalSelectors,
  compareSelectors,
  formatSelector,
  parseSelector,
  selectorsMatch,
  unwrap,
  type Selector,
} from './index.js';

const encoder = new TextEncoder();

/** Oracle from the rules as stated: split at the first ':', then check each side with regexes. */
function oracleSelector(s: string): boolean {
  const colon = s.indexOf(':');
  if (colon < 0) return false;
  const type = s.slice(0, colon);
  const value = s.slice(colon + 1);
  if (!/^[a-z0-9_.-]{1,64}$/.test(type)) return false;
  if (value === '' || encoder.encode(value).length > 4096) return false;
  // eslint-disable-next-line no-control-regex -- the oracle exists to match control characters
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return false;
  const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  return !loneSurrogate.test(value);
}

const typeArb = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_.-'.split('')),
  minLength: 1,
  maxLength: 12,
});
const valueArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  // eslint-disable-next-line no-control-regex -- keep generated values free of control characters
  .filter((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v));
const anySelector: fc.Arbitrary<Selector> = fc.record({ type: typeArb, value: valueArb });

/** A small universe, so that generated sets overlap often. */
const smallSelector: fc.Arbitrary<Selector> = fc.record({
  type: fc.constantFrom('unix', 'k8s', 'docker'),
  value: fc.constantFrom('uid:0', 'uid:1000', 'gid:0', 'ns:prod', 'sa:web', 'a:b:c'),
});
const set = fc.array(smallSelector, { maxLength: 8 });
const nonEmptySet = fc.array(smallSelector, { minLength: 1, maxLength: 8 });

const key = (s: Selector) => JSON.stringify([s.type, s.value]);
/** Oracle for matching: non-empty entry, and each entry selector equals some workload selector. */
const oracleMatch = (w: readonly Selector[], e: readonly Selector[]) =>
  e.length > 0 && e.every((x) => w.some((y) => y.type === x.type && y.value === x.value));

test('parseSelector agrees with the oracle on arbitrary strings', () => {
  const input = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.tuple(typeArb, fc.string({ unit: 'binary', maxLength: 30 })).map(([t, v]) => `${t}:${v}`),
    fc
      .array(
        fc.constantFrom(
          'unix',
          'K8s',
          ':',
          '::',
          'uid',
          '0',
          '\n',
          '\u0085',
          '\ud800',
          'é',
          '😀',
          ' ',
        ),
        { maxLength: 10 },
      )
      .map((a) => a.join('')),
    fc
      .tuple(typeArb, fc.integer({ min: 4090, max: 4100 }))
      .map(([t, n]) => `${t}:${'v'.repeat(n)}`),
  );
  fc.assert(
    fc.property(input, (s) => {
      const r = parseSelector(s);
      assert.equal(r.ok, oracleSelector(s), JSON.stringify(s));
      if (r.ok) {
        assert.equal(formatSelector(r.value), s, 'type:value splits and joins back');
        assert.ok(!r.value.type.includes(':'));
      }
    }),
    { numRuns: 2000 },
  );
});

test('parse ∘ format is the identity on valid selectors', () => {
  fc.assert(
    fc.property(anySelector, (s) => {
      assert.deepEqual(unwrap(parseSelector(formatSelector(s))), { type: s.type, value: s.value });
    }),
  );
});

test('selectorsMatch equals the subset oracle', () => {
  fc.assert(
    fc.property(set, set, (w, e) => assert.equal(selectorsMatch(w, e), oracleMatch(w, e))),
    { numRuns: 2000 },
  );
});

test('selectorsMatch is reflexive on non-empty sets', () => {
  fc.assert(fc.property(nonEmptySet, (s) => assert.ok(selectorsMatch(s, s))));
});

test('selectorsMatch is monotone: more workload selectors, or fewer entry selectors, keep a match', () => {
  fc.assert(
    fc.property(
      set,
      nonEmptySet,
      set,
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      (w, e, extra, keep) => {
        fc.pre(selectorsMatch(w, e));
        assert.ok(selectorsMatch([...w, ...extra], e), 'workload superset still matches');
        const subset = e.filter((_, i) => keep[i] === true);
        if (subset.length > 0) assert.ok(selectorsMatch(w, subset), 'entry subset still matches');
      },
    ),
    { numRuns: 500 },
  );
});

test('selectorsMatch is transitive: W ⊇ M ⊇ E', () => {
  fc.assert(
    fc.property(nonEmptySet, nonEmptySet, nonEmptySet, (w, m, e) => {
      if (selectorsMatch(w, m) && selectorsMatch(m, e)) assert.ok(selectorsMatch(w, e));
    }),
  );
});

test('order and duplicates never change a match', () => {
  fc.assert(
    fc.property(set, set, (w, e) => {
      const expected = selectorsMatch(w, e);
      assert.equal(selectorsMatch([...w].reverse().concat(w), canonicalSelectors(e)), expected);
      assert.equal(selectorsMatch(canonicalSelectors(w), [...e, ...e].reverse()), expected);
    }),
  );
});

test('canonicalSelectors: sorted strictly, same members, idempotent', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(smallSelector, anySelector), { maxLength: 20 }), (s) => {
      const c = canonicalSelectors(s);
      for (let i = 1; i < c.length; i++)
        assert.ok(compareSelectors(c[i - 1] as Selector, c[i] as Selector) < 0);
      assert.deepEqual(new Set(c.map(key)), new Set(s.map(key)));
      assert.deepEqual(canonicalSelectors(c), c);
      assert.deepEqual(canonicalSelectors([...s].reverse()), c, 'independent of input order');
    }),
  );
});

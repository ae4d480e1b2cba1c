// Property-based tests for resource IDs: format, injected randomness, parse oracle, uniqueness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  newResourceId,
  parseResourceId,
  RESOURCE_ID_PREFIXES,
  RESOURCE_KINDS,
  resourceKindOf,
  type ResourceKind,
} from './index.js';

const kind = fc.constantFrom(...RESOURCE_KINDS);
const formatOf = (k: ResourceKind) => new RegExp(`^${RESOURCE_ID_PREFIXES[k]}[0-9a-z]{10}$`);

/** A replaying byte source built from a generated list that contains at least one usable byte. */
const byteSource = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 })
  .filter((bytes) => bytes.some((b) => b < 252));
function replay(bytes: readonly number[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length] ?? 0);
}

test('any byte source yields a well-formed ID of the requested kind, deterministically', () => {
  fc.assert(
    fc.property(kind, byteSource, (k, bytes) => {
      const id = newResourceId(k, replay(bytes));
      assert.match(id, formatOf(k));
      assert.equal(id, newResourceId(k, replay(bytes)), 'same bytes, same ID');
      assert.ok(parseResourceId(k, id).ok);
      assert.equal(resourceKindOf(id), k);
      // Every character comes from an accepted byte (< 252) of the source, mapped by b % 36.
      const possible = new Set(
        bytes.filter((b) => b < 252).map((b) => '0123456789abcdefghijklmnopqrstuvwxyz'[b % 36]),
      );
      for (const c of id.slice(RESOURCE_ID_PREFIXES[k].length)) assert.ok(possible.has(c), c);
    }),
  );
});

test('parseResourceId agrees with the format regex and rejects every other kind', () => {
  const input = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc
      .tuple(
        kind,
        fc.string({
          unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyzA-_é'.split('')),
          maxLength: 12,
        }),
      )
      .map(([k, rest]) => RESOURCE_ID_PREFIXES[k] + rest),
  );
  fc.assert(
    fc.property(kind, input, (k, s) => {
      const r = parseResourceId(k, s);
      assert.equal(r.ok, formatOf(k).test(s), `${k} ${JSON.stringify(s)}`);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(kind, kind, (a, b) => {
      fc.pre(a !== b);
      const r = parseResourceId(b, newResourceId(a));
      assert.ok(!r.ok && r.error.code === 'RESOURCE_ID_WRONG_PREFIX' && r.error.actualKind === a);
    }),
  );
});

test('IDs from the system source are unique (20,000 of one kind) and use the whole alphabet', () => {
  const ids = new Set<string>();
  const chars = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = newResourceId('entry');
    ids.add(id);
    for (const c of id.slice(2)) chars.add(c);
  }
  assert.equal(ids.size, 20_000);
  assert.equal(chars.size, 36);
});

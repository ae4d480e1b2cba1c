import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrerequisite, skipOrFailUnderCi, skipUnlessCi, underCi } from './prerequisites.js';

function withCi<T>(value: string | undefined, run: () => T): T {
  const saved = process.env['CI'];
  if (value === undefined) delete process.env['CI'];
  else process.env['CI'] = value;
  try {
    return run();
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
}

test('CI is recognised by any value but empty, false or 0', () => {
  assert.equal(underCi({ CI: 'true' }), true);
  assert.equal(underCi({ CI: '1' }), true);
  assert.equal(underCi({}), false);
  assert.equal(underCi({ CI: 'false' }), false);
  assert.equal(underCi({ CI: '0' }), false);
});

test('a missing prerequisite skips locally but fails under CI', () => {
  assert.equal(withCi(undefined, () => skipUnlessCi('go not found')), 'go not found');
  assert.equal(withCi('true', () => skipUnlessCi('go not found')), false, 'the test runs (and fails) under CI');
  assert.equal(withCi('true', () => skipUnlessCi(false)), false);
  assert.throws(() => requirePrerequisite('go not found'), /go not found \(required when CI is set/);
  assert.doesNotThrow(() => requirePrerequisite(false));
  const skipped: string[] = [];
  withCi(undefined, () => skipOrFailUnderCi({ skip: (m) => skipped.push(m ?? '') }, 'no pidfd'));
  assert.deepEqual(skipped, ['no pidfd']);
  assert.throws(() => withCi('true', () => skipOrFailUnderCi({ skip: (m) => skipped.push(m ?? '') }, 'no pidfd')), /no pidfd/);
  assert.equal(skipped.length, 1);
});

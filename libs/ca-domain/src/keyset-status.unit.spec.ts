import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keysetStatusAfter, retiredKeysetStatus } from './index.js';

test('each ca.* event gives the keyset it names its status; other events none', () => {
  assert.deepEqual(
    ['ca.keyset_prepared', 'ca.keyset_activated', 'ca.keyset_tainted', 'ca.keyset_revoked', 'ca.keyset_dropped'].map(keysetStatusAfter),
    ['prepared', 'active', 'tainted', 'revoked', 'dropped'],
  );
  for (const other of ['bundle.updated', 'agent.attested', 'ca.keyset', 'toString', '__proto__', '']) assert.equal(keysetStatusAfter(other), undefined, other);
});

test('an activation leaves the keyset before it old, or tainted when a taint caused it', () => {
  assert.equal(retiredKeysetStatus('initial'), 'old');
  assert.equal(retiredKeysetStatus('rotation'), 'old');
  assert.equal(retiredKeysetStatus('taint'), 'tainted');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReservedSpiffeId, parseTrustDomain, RESERVED_SPIFFE_PATH_SEGMENTS, unwrap, validateRegistrationEntry } from './index.js';

test('agent, signer and SPIRE paths are reserved; workload paths are not', () => {
  assert.deepEqual([...RESERVED_SPIFFE_PATH_SEGMENTS], ['agent', 'spire', 'trustplane']);
  for (const id of [
    'spiffe://example.org/agent/edge/node-1',
    'spiffe://example.org/agent',
    'spiffe://example.org/trustplane/server',
    'spiffe://example.org/trustplane',
    'spiffe://example.org/spire/agent/x',
    'spiffe://example.org/Agent/edge/node-1',
    'spiffe://example.org/TrustPlane/server',
    'spiffe://example.org',
    'https://example.org/web',
    '',
  ]) {
    assert.equal(isReservedSpiffeId(id), true, id);
  }
  for (const id of ['spiffe://example.org/web', 'spiffe://example.org/agents/x', 'spiffe://example.org/payments/agent', 'spiffe://agent/web']) {
    assert.equal(isReservedSpiffeId(id), false, id);
  }
});

test('registration entries may not claim a reserved path (the same rule)', () => {
  const td = unwrap(parseTrustDomain('example.org'));
  const base = { parentId: 'spiffe://example.org/agent/edge/node-1', selectors: [{ type: 'unix', value: 'uid:1000' }] };
  for (const path of ['/agent/edge/node-2', '/trustplane/server', '/spire/server', '/Trustplane/x']) {
    const result = validateRegistrationEntry({ ...base, spiffeId: `spiffe://example.org${path}` }, td);
    assert.ok(!result.ok && result.error.some((e) => e.code === 'ENTRY_SPIFFE_ID_RESERVED'), path);
  }
  assert.ok(validateRegistrationEntry({ ...base, spiffeId: 'spiffe://example.org/web' }, td).ok);
});

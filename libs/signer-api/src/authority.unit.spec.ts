import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keysetScope, parseAuthority, scopesAllow, SIGNER_OPERATIONS } from './index.js';

const valid = { kind: 'api-token', tenant: 't-aaaaaaaaaa', tokenId: 'tok-bbbbbbbbbb', scopes: ['trust-domains:read'] };

test('an authority is an API token of one organization with known scopes; anything else is refused with a reason', () => {
  assert.deepEqual(parseAuthority(valid), { ok: true, authority: valid });
  assert.deepEqual(parseAuthority({ ...valid, scopes: ['admin', 'admin'] }), { ok: true, authority: { ...valid, scopes: ['admin'] } });
  for (const bad of [
    undefined,
    null,
    'tok-bbbbbbbbbb',
    [],
    { ...valid, kind: 'agent' },
    { ...valid, tenant: 'acme' },
    { ...valid, tenant: 'td-aaaaaaaaaa' },
    { ...valid, tokenId: 'tp_tok-bbbbbbbbbb_secret' },
    { ...valid, scopes: [] },
    { ...valid, scopes: ['root'] },
    { ...valid, scopes: 'admin' },
    { ...valid, secret: 'x' },
  ]) {
    const parsed = parseAuthority(bad);
    assert.equal(parsed.ok, false, JSON.stringify(bad));
  }
});

test('scopes: admin grants all; keyset writes need trust-domains:write, lists trust-domains:read', () => {
  assert.equal(keysetScope('list'), 'trust-domains:read');
  for (const op of ['prepare', 'activate', 'taint', 'revoke'] as const) assert.equal(keysetScope(op), 'trust-domains:write');
  assert.equal(scopesAllow(['admin'], 'trust-domains:write'), true);
  assert.equal(scopesAllow(['trust-domains:read'], 'trust-domains:write'), false);
  assert.equal(scopesAllow(['trust-domains:write'], 'trust-domains:read'), false, 'write does not imply read (as on the REST API)');
  assert.deepEqual([...SIGNER_OPERATIONS].sort(), ['bundle', 'keyset', 'seal-secret'], 'no minting operation on the bus');
});

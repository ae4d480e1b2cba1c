// The agent talks to the trust domain's signer only: the server certificate must carry
// `spiffe://<td>/trustplane/server`. Chaining to the trust domain's CA is not enough — every
// workload SVID of the trust domain chains there too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverIdentityCheck } from './signer-connection.js';

test("only the trust domain's signer SVID is accepted as the server", () => {
  const check = serverIdentityCheck('example.org');
  assert.equal(check('td-x.agents.trustplane', { subjectaltname: 'URI:spiffe://example.org/trustplane/server' }), undefined);
  assert.equal(check('td-x.agents.trustplane', { subjectaltname: 'DNS:signer.internal, URI:spiffe://example.org/trustplane/server' }), undefined);
  for (const subjectaltname of [
    'URI:spiffe://example.org/web',
    'URI:spiffe://example.org/agent/edge/node-1',
    'URI:spiffe://other.org/trustplane/server',
    'URI:spiffe://example.org/trustplane/server/x',
    'DNS:spiffe://example.org/trustplane/server',
    '',
    undefined,
  ]) {
    const refused = check('td-x.agents.trustplane', subjectaltname === undefined ? {} : { subjectaltname });
    assert.ok(refused instanceof Error, String(subjectaltname));
    assert.match(refused.message, /did not present spiffe:\/\/example\.org\/trustplane\/server/);
  }
});

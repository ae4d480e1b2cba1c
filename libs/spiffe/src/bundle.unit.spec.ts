import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleX509AuthoritiesPem } from './bundle.js';

test('bundleX509AuthoritiesPem: one CERTIFICATE block per x509-svid key, JWT keys skipped, 64-column lines', () => {
  const der = Buffer.alloc(100, 7).toString('base64');
  const pem = bundleX509AuthoritiesPem({
    keys: [
      { use: 'x509-svid', x5c: [der] },
      { use: 'jwt-svid' },
      { use: 'x509-svid', x5c: [Buffer.from('second').toString('base64')] },
    ],
  });
  const blocks =
    pem.match(/-----BEGIN CERTIFICATE-----\n([\s\S]*?)\n-----END CERTIFICATE-----\n/g) ?? [];
  assert.equal(blocks.length, 2);
  const firstBody = (blocks[0] ?? '').split('\n').slice(1, -2);
  assert.ok(firstBody.every((line) => line.length <= 64));
  assert.equal(firstBody.join(''), der);
  assert.equal(bundleX509AuthoritiesPem({ keys: [{ use: 'jwt-svid' }] }), '');
  assert.equal(bundleX509AuthoritiesPem({}), '');
});

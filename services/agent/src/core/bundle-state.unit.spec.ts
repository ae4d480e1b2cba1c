import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createTestTrustDomain } from '../testing/fixtures.js';
import { BundleDecodeError, parseJwks, readBundleUpdate, sameBundle } from './bundle-state.js';

test('a bundle message: own bundle with its JWT keys, federated bundles by name, tainted CAs', async () => {
  const own = await createTestTrustDomain('own.example');
  const partner = await createTestTrustDomain('partner.example');
  const jwks = (keys: unknown[]): Buffer => Buffer.from(JSON.stringify({ keys }));
  const update = readBundleUpdate({
    bundle: { trustDomain: 'own.example', x509Authorities: [...own.bundle.x509Authorities], jwtAuthorities: jwks([own.jwk]), sequence: 1n },
    federatedBundles: [{ trustDomain: 'partner.example', x509Authorities: [...partner.bundle.x509Authorities], jwtAuthorities: jwks([partner.jwk]), sequence: 1n }],
    taintedX509Authorities: [own.caCertificate],
  });
  assert.deepEqual(update.own, own.bundle);
  assert.deepEqual([...update.federated.keys()], ['partner.example']);
  assert.deepEqual(update.federated.get('partner.example'), partner.bundle);
  assert.equal(update.tainted.empty, false);
  assert.equal(update.tainted.includes(new X509Certificate(own.caCertificate)), true);
  assert.equal(update.tainted.includes(new X509Certificate(partner.caCertificate)), false);
  const svid = await own.mintSvid('spiffe://own.example/w');
  const foreign = await partner.mintSvid('spiffe://partner.example/w');
  assert.equal(update.tainted.issued(new X509Certificate(svid.chain[0] ?? Buffer.alloc(0))), true);
  assert.equal(update.tainted.issued(new X509Certificate(foreign.chain[0] ?? Buffer.alloc(0))), false);
  assert.equal(sameBundle(own.bundle, update.own ?? assert.fail()), true);
  assert.equal(sameBundle(own.bundle, partner.bundle), false);
  assert.equal(sameBundle(own.bundle, { ...own.bundle, jwtAuthorities: [] }), false);
});

test('a message without a bundle carries only the taint list', () => {
  const update = readBundleUpdate({ bundle: undefined, federatedBundles: [], taintedX509Authorities: [] });
  assert.equal(update.own, undefined);
  assert.equal(update.federated.size, 0);
  assert.equal(update.tainted.empty, true);
});

test('JWKS documents: an empty one has no keys, keys without kid are skipped, an unreadable one is an error, never an empty bundle', () => {
  assert.deepEqual(parseJwks(Buffer.alloc(0)), []);
  assert.deepEqual(parseJwks(Buffer.from('{"keys":[{"kty":"EC"},{"kid":"k1","kty":"EC"},null]}')), [{ kid: 'k1', kty: 'EC' }]);
  for (const unreadable of ['{not json', '{"keys":"no"}', 'null', '[]']) {
    assert.throws(() => parseJwks(Buffer.from(unreadable), 'own.example'), (e: unknown) => e instanceof BundleDecodeError && e.code === 'JWT_BUNDLE_UNREADABLE' && e.message.includes('own.example'), unreadable);
  }
  assert.throws(
    () => readBundleUpdate({ bundle: { trustDomain: 'own.example', x509Authorities: [], jwtAuthorities: Buffer.from('{not json'), sequence: 2n }, federatedBundles: [], taintedX509Authorities: [] }),
    BundleDecodeError,
  );
});

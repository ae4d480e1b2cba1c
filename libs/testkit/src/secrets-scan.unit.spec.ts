import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { findPrivateKeyMaterial } from './secrets-scan.js';

test('the scanner finds every form of private key the system could leak, and nothing in public material', () => {
  for (const type of ['ec-p256', 'ec-p384', 'rsa'] as const) {
    const { privateKey, publicKey } =
      type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    assert.ok(findPrivateKeyMaterial(pem).length > 0, `${type} PEM`);
    assert.ok(findPrivateKeyMaterial(JSON.stringify({ key: der.toString('base64') })).length > 0, `${type} PKCS#8 base64`);
    assert.ok(findPrivateKeyMaterial(JSON.stringify(privateKey.export({ format: 'jwk' }))).length > 0, `${type} JWK`);
    assert.deepEqual(findPrivateKeyMaterial(JSON.stringify(publicKey.export({ format: 'jwk' }))), [], `${type} public JWK is fine`);
    assert.deepEqual(findPrivateKeyMaterial(publicKey.export({ type: 'spki', format: 'der' }).toString('base64')), []);
  }
  if (findPrivateKeyMaterial(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' }).toString('hex')).length === 0) {
    assert.fail('hex PKCS#8 not found');
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { findKnownPrivateKeys, findPrivateKeyMaterial, type KnownPrivateKey } from './secrets-scan.js';

/**
 * An RSA key pair whose KeyObjects do not share their key data with the key generation job:
 * on Node 20, exporting a JWK from the KeyObject generateKeyPairSync returns can deadlock when
 * a garbage collection during the export destroys that job (seen here about once in 40 runs).
 */
function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } });
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  return { privateKey: key, publicKey: createPublicKey(key) };
}

test('the marker scan finds every form of private key the system could leak, and nothing in public material', () => {
  for (const type of ['ec-p256', 'ec-p384', 'rsa'] as const) {
    const { privateKey, publicKey } =
      type === 'rsa'
        ? rsaKeyPair()
        : generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    assert.ok(findPrivateKeyMaterial(pem).length > 0, `${type} PEM`);
    assert.ok(findPrivateKeyMaterial(JSON.stringify({ key: der.toString('base64') })).length > 0, `${type} PKCS#8 base64`);
    assert.ok(findPrivateKeyMaterial(JSON.stringify(privateKey.export({ format: 'jwk' }))).length > 0, `${type} JWK`);
    assert.deepEqual(findPrivateKeyMaterial(JSON.stringify(publicKey.export({ format: 'jwk' }))), [], `${type} public JWK is fine`);
    assert.deepEqual(findPrivateKeyMaterial(publicKey.export({ type: 'spki', format: 'der' }).toString('base64')), []);
  }
});

/** The private scalar of an EC or OKP key, raw. */
function scalarOf(key: KeyObject): Buffer {
  return Buffer.from(String((key.export({ format: 'jwk' }) as { d?: string }).d), 'base64url');
}

/** `secret` planted between unrelated bytes: `before` bytes in front shift its alignment. */
function planted(secret: Buffer, before: number): Buffer {
  return Buffer.concat([randomBytes(before), secret, randomBytes(7)]);
}

const KEYS: readonly (KnownPrivateKey & { readonly kind: string })[] = [
  { kind: 'EC P-256', name: 'p256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
  { kind: 'EC P-384', name: 'p384', key: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
  { kind: 'Ed25519', name: 'ed', key: generateKeyPairSync('ed25519').privateKey },
  { kind: 'RSA', name: 'rsa', key: rsaKeyPair().privateKey },
];

for (const known of KEYS) {
  test(`the actual bytes of a real ${known.kind} key are found in every encoding, at every alignment, without any marker`, () => {
    const secret = known.kind === 'RSA' ? Buffer.from(String((known.key.export({ format: 'jwk' }) as { p?: string }).p), 'base64url') : scalarOf(known.key);
    const der = known.key.export({ type: 'pkcs8', format: 'der' });
    const plantings: [string, string | Uint8Array, RegExp][] = [];
    for (const before of [0, 1, 2, 5]) {
      const blob = planted(secret, before);
      plantings.push(
        [`raw bytes after ${before} bytes`, blob, /as raw bytes/],
        [`hex after ${before} bytes`, JSON.stringify({ data: blob.toString('hex') }), /as hex/],
        [`upper-case hex after ${before} bytes`, `key=${blob.toString('hex').toUpperCase()}`, /as hex/],
        [`base64 after ${before} bytes`, JSON.stringify({ data: blob.toString('base64') }), /as base64/],
        [`base64url after ${before} bytes`, `token.${blob.toString('base64url')}.sig`, /as base64url/],
      );
    }
    // The PKCS#8 DER from a few bytes before the secret on: a container without the header the marker scan knows.
    const tail = der.subarray(der.indexOf(secret) - 4);
    assert.ok(der.indexOf(secret) >= 4);
    plantings.push(
      ['PKCS#8 DER tail, base64', tail.toString('base64'), /as base64/],
      ['PKCS#8 DER tail wrapped over lines in JSON (escaped newlines)', JSON.stringify({ pem: tail.toString('base64').replace(/(.{16})/g, '$1\n') }), /as base64/],
      ['PKCS#8 DER tail, hex in a bytea column', `{"sealed": "\\\\x${tail.toString('hex')}"}`, /as hex/],
      ['PKCS#8 DER tail in a binary message', Buffer.concat([Buffer.from('hdr'), tail]), /as raw bytes/],
    );
    for (const [what, data, expected] of plantings) {
      assert.deepEqual(findPrivateKeyMaterial(typeof data === 'string' ? data : Buffer.from(data).toString('latin1')), [], `${what}: the marker scan alone misses it`);
      const hits = findKnownPrivateKeys(data, [known]);
      assert.ok(hits.some((h) => expected.test(h)), `${what}: found ${JSON.stringify(hits)}`);
      assert.ok(hits.every((h) => h.startsWith(`${known.name} (`)), 'hits name the key');
    }
  });
}

test('public keys, other keys and random data are not reported', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  for (const known of KEYS) {
    const publicKey = createPublicKey(known.key);
    const text = JSON.stringify({ spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), jwk: publicKey.export({ format: 'jwk' }) });
    assert.deepEqual(findKnownPrivateKeys(text, KEYS), [], `${known.kind} public key`);
  }
  assert.deepEqual(findKnownPrivateKeys(other.privateKey.export({ type: 'pkcs8', format: 'der' }), KEYS), [], 'another key is not one of these');
  assert.deepEqual(findKnownPrivateKeys(randomBytes(4096), KEYS), []);
});

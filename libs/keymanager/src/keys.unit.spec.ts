import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { MemoryKeyManager } from './memory.js';
import { fingerprintOf, verifySignature } from './keys.js';
import { KeyManagerError } from './errors.js';
import { HASH_ALGORITHMS, KEY_TYPES, type KeyInfo, type KeyType } from './types.js';

const message = new TextEncoder().encode('TBSCertificate stand-in: the quick brown fox');

/** Verifies with node's own verifier over the message (independent of our verifySignature). */
function nativeVerify(info: KeyInfo, hash: string, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(info.publicKeyDer), format: 'der', type: 'spki' });
  return verify(
    hash,
    message,
    info.keyType === 'rsa-2048' ? key : { key, dsaEncoding: 'der' },
    sig,
  );
}

function code(c: string): (err: unknown) => boolean {
  return (err) => err instanceof KeyManagerError && err.code === c;
}

describe('MemoryKeyManager', () => {
  for (const keyType of KEY_TYPES) {
    it(`${keyType}: both request forms produce signatures that verify natively and with verifySignature`, async () => {
      const km = new MemoryKeyManager();
      const info = await km.create(`ca-${keyType}`, keyType);
      assert.equal(info.keyType, keyType);
      assert.equal(info.fingerprint, fingerprintOf(info.publicKeyDer));
      assert.equal(info.fingerprint, createHash('sha256').update(info.publicKeyDer).digest('hex'));
      for (const hashAlgorithm of HASH_ALGORITHMS) {
        const viaMessage = await km.sign(info.keyId, { message, hashAlgorithm });
        const digest = createHash(hashAlgorithm).update(message).digest();
        const viaDigest = await km.sign(info.keyId, { digest, hashAlgorithm });
        assert.ok(nativeVerify(info, hashAlgorithm, viaMessage), `${hashAlgorithm} message form`);
        assert.ok(nativeVerify(info, hashAlgorithm, viaDigest), `${hashAlgorithm} digest form`);
        assert.ok(verifySignature(info, { digest, hashAlgorithm }, viaMessage));
        assert.ok(verifySignature(info, { message, hashAlgorithm }, viaDigest));
        if (keyType !== 'rsa-2048') {
          assert.equal(viaDigest[0], 0x30, 'ECDSA signatures are DER SEQUENCEs');
        } else {
          assert.equal(viaDigest.length, 256);
          // PKCS#1 v1.5 is deterministic: both forms give the same bytes.
          assert.deepEqual(Buffer.from(viaDigest), Buffer.from(viaMessage));
        }
        const tampered = Buffer.from(message);
        tampered.writeUInt8(tampered.readUInt8(0) ^ 1, 0);
        assert.equal(verifySignature(info, { message: tampered, hashAlgorithm }, viaDigest), false);
      }
    });
  }

  it('lists keys sorted, returns public keys, releases', async () => {
    const km = new MemoryKeyManager();
    const b = await km.create('b', 'ec-p256');
    const a = await km.create('a', 'ec-p384');
    assert.deepEqual(
      (await km.list()).map((k) => k.keyId),
      ['a', 'b'],
    );
    assert.deepEqual(await km.publicKey('b'), b);
    assert.notEqual(a.fingerprint, b.fingerprint);
    await km.release('a');
    await assert.rejects(km.publicKey('a'), code('KEY_NOT_FOUND'));
    await assert.rejects(km.sign('a', { message, hashAlgorithm: 'sha256' }), code('KEY_NOT_FOUND'));
    await assert.rejects(km.release('a'), code('KEY_NOT_FOUND'));
  });

  it('refuses bad input with stable codes', async () => {
    const km = new MemoryKeyManager();
    await km.create('k', 'ec-p256');
    await assert.rejects(km.create('k', 'ec-p256'), code('KEY_EXISTS'));
    await assert.rejects(
      Promise.all([km.create('dup', 'ec-p256'), km.create('dup', 'ec-p256')]),
      code('KEY_EXISTS'),
    );
    await assert.rejects(km.create('x', 'ed25519' as KeyType), code('UNSUPPORTED_KEY_TYPE'));
    await assert.rejects(km.create('../etc', 'ec-p256'), code('INVALID_ARGUMENT'));
    await assert.rejects(km.create('', 'ec-p256'), code('INVALID_ARGUMENT'));
    await assert.rejects(
      km.sign('k', { message, hashAlgorithm: 'md5' as 'sha256' }),
      code('UNSUPPORTED_HASH_ALGORITHM'),
    );
    await assert.rejects(
      km.sign('k', { digest: new Uint8Array(20), hashAlgorithm: 'sha256' }),
      code('INVALID_ARGUMENT'),
    );
    await km.close();
    assert.equal(km.ready(), false);
    await assert.rejects(km.list(), code('CLOSED'));
  });

  it('never exposes private key material through inspection or serialisation', async () => {
    const km = new MemoryKeyManager();
    const info = await km.create('secret', 'ec-p256');
    await km.sign('secret', { digest: new Uint8Array(32), hashAlgorithm: 'sha256' }); // derives the scalar
    const seen =
      inspect(km, { depth: 10, showHidden: true }) +
      JSON.stringify(await km.list()) +
      inspect(info);
    assert.doesNotMatch(seen, /PRIVATE KEY|"d"|privateKey|ecScalar/i);
    assert.deepEqual(Object.keys(info).sort(), ['fingerprint', 'keyId', 'keyType', 'publicKeyDer']);
  });
});

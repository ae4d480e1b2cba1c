import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  buildCaCertificate,
  isCryptoError,
  keyObjectSigner,
  validateCaCertificate,
  type CryptoErrorCode,
} from './index';
import { generateKey, spySigner } from './testing/support';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const NOT_BEFORE = new Date('2025-03-01T00:00:00Z');
const NOT_AFTER = new Date('2025-03-02T00:00:00Z');

function expectCode(code: CryptoErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isCryptoError(err), `expected CryptoError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

describe('buildCaCertificate', () => {
  for (const type of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
    it(`builds a self-signed ${type} CA with the CA profile`, async () => {
      const key = generateKey(type);
      const authority = await buildCaCertificate(
        {
          trustDomain: 'prod.example',
          publicKey: key.spki,
          keyType: type,
          serialRandom: Buffer.alloc(16, 0x11),
          notBefore: NOT_BEFORE,
          notAfter: NOT_AFTER,
        },
        keyObjectSigner(key.privateKey),
      );
      assert.equal(authority.keyType, type);
      assert.equal(authority.trustDomain, 'prod.example');
      const cert = new x509.X509Certificate(authority.certificate);
      assert.equal(
        cert.subject,
        'O=TrustPlane, CN=TrustPlane CA, 2.5.4.5=51111111111111111111111111111111',
      );
      assert.equal(cert.issuer, cert.subject);
      assert.equal(cert.notBefore.toISOString(), NOT_BEFORE.toISOString());
      assert.equal(cert.notAfter.toISOString(), NOT_AFTER.toISOString());
      const bc = cert.getExtension(x509.BasicConstraintsExtension);
      assert.ok(bc);
      assert.equal(bc.ca, true);
      assert.equal(bc.critical, true);
      assert.equal(bc.pathLength, undefined);
      const ku = cert.getExtension(x509.KeyUsagesExtension);
      assert.ok(ku);
      assert.equal(ku.critical, true);
      assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
      assert.ok(san);
      assert.deepEqual(
        san.names.items.map((n) => [n.type, n.value]),
        [['url', 'spiffe://prod.example']],
      );
      const skid = cert.getExtension(x509.SubjectKeyIdentifierExtension);
      assert.ok(skid);
      assert.equal(skid.keyId, authority.subjectKeyId.toString('hex'));
      assert.equal(await cert.verify({ signatureOnly: true }), true);
      assert.equal(await cert.isSelfSigned(), true);
    });
  }

  it('honours a custom subject and pathLenConstraint', async () => {
    const key = generateKey('ec-p256');
    const authority = await buildCaCertificate(
      {
        trustDomain: 'prod.example',
        publicKey: key.spki,
        serialRandom: Buffer.alloc(16, 1),
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
        subject: { country: 'DE', organization: 'Acme', commonName: 'Acme CA' },
        pathLenConstraint: 0,
      },
      keyObjectSigner(key.privateKey),
    );
    const cert = new x509.X509Certificate(authority.certificate);
    assert.equal(cert.subject, 'C=DE, O=Acme, CN=Acme CA');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
  });

  it('builds a CA for a 255-character trust domain: the subject does not grow with the name', async () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
    assert.equal(longest.length, 255);
    const subjects: string[] = [];
    for (const trustDomain of ['x.org', longest]) {
      const key = generateKey('ec-p256');
      const authority = await buildCaCertificate(
        { trustDomain, publicKey: key.spki, serialRandom: Buffer.alloc(16, 2), notBefore: NOT_BEFORE, notAfter: NOT_AFTER },
        keyObjectSigner(key.privateKey),
      );
      const cert = new x509.X509Certificate(authority.certificate);
      assert.equal(cert.subject, 'O=TrustPlane, CN=TrustPlane CA, 2.5.4.5=42020202020202020202020202020202');
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
      assert.deepEqual(san?.names.items.map((n) => n.value), [`spiffe://${trustDomain}`]);
      assert.equal(validateCaCertificate(authority.certificate, { trustDomain }).trustDomain, trustDomain);
      subjects.push(Buffer.from(cert.subjectName.toArrayBuffer()).toString('hex'));
    }
    assert.equal(subjects[0], subjects[1], 'the same subject bytes for a short and the longest name');
  });

  const bad: {
    name: string;
    code: CryptoErrorCode;
    type: 'ed25519' | 'ec-p521' | 'ec-p256';
    patch?: object;
  }[] = [
    { name: 'Ed25519 key', code: 'UNSUPPORTED_KEY_TYPE', type: 'ed25519' },
    { name: 'P-521 key', code: 'UNSUPPORTED_KEY_TYPE', type: 'ec-p521' },
    {
      name: 'unknown requested key type',
      code: 'UNSUPPORTED_KEY_TYPE',
      type: 'ec-p256',
      patch: { keyType: 'ec-p999' },
    },
    {
      name: 'key type mismatch',
      code: 'INVALID_PUBLIC_KEY',
      type: 'ec-p256',
      patch: { keyType: 'rsa-2048' },
    },
    {
      name: 'bad trust domain',
      code: 'INVALID_TRUST_DOMAIN',
      type: 'ec-p256',
      patch: { trustDomain: 'Prod.Example' },
    },
    {
      name: 'notAfter before notBefore',
      code: 'INVALID_VALIDITY',
      type: 'ec-p256',
      patch: { notAfter: NOT_BEFORE },
    },
    {
      name: 'short serial',
      code: 'INVALID_SERIAL',
      type: 'ec-p256',
      patch: { serialRandom: Buffer.alloc(4) },
    },
    {
      name: 'unencodable subject',
      code: 'INVALID_NAME',
      type: 'ec-p256',
      patch: { subject: { commonName: '' } },
    },
  ];
  for (const c of bad) {
    it(`${c.name} → ${c.code}, nothing signed`, async () => {
      const key = generateKey(c.type);
      const spy = spySigner(generateKey('ec-p256').privateKey);
      const request = {
        trustDomain: 'prod.example',
        publicKey: key.spki,
        serialRandom: Buffer.alloc(16, 1),
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
        ...c.patch,
      } as Parameters<typeof buildCaCertificate>[0];
      await assert.rejects(buildCaCertificate(request, spy.signer), expectCode(c.code));
      assert.equal(spy.calls.length, 0);
    });
  }
});

describe('validateCaCertificate', () => {
  it('rejects another trust domain, expiry and a foreign signature', async () => {
    const key = generateKey('ec-p256');
    const authority = await buildCaCertificate(
      {
        trustDomain: 'a.example',
        publicKey: key.spki,
        serialRandom: Buffer.alloc(16, 3),
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      },
      keyObjectSigner(key.privateKey),
    );
    assert.equal(
      validateCaCertificate(authority.certificate, { trustDomain: 'a.example', now: NOT_BEFORE })
        .trustDomain,
      'a.example',
    );
    assert.throws(
      () => validateCaCertificate(authority.certificate, { trustDomain: 'b.example' }),
      expectCode('CERT_PROFILE_VIOLATION'),
    );
    assert.throws(
      () =>
        validateCaCertificate(authority.certificate, {
          trustDomain: 'a.example',
          now: new Date('2026-01-01T00:00:00Z'),
        }),
      expectCode('CERT_VALIDITY_VIOLATION'),
    );
    assert.throws(
      () =>
        validateCaCertificate(authority.certificate, {
          trustDomain: 'a.example',
          issuerPublicKey: generateKey('ec-p256').publicKey,
        }),
      expectCode('CERT_BAD_SIGNATURE'),
    );
  });

  it('a CA signer using another key → SIGNER_FAILED', async () => {
    const key = generateKey('ec-p256');
    await assert.rejects(
      buildCaCertificate(
        {
          trustDomain: 'a.example',
          publicKey: key.spki,
          serialRandom: Buffer.alloc(16, 3),
          notBefore: NOT_BEFORE,
          notAfter: NOT_AFTER,
        },
        keyObjectSigner(generateKey('ec-p256').privateKey),
      ),
      expectCode('SIGNER_FAILED'),
    );
  });
});

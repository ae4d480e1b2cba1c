import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  buildCaCertificate,
  buildCsr,
  createX509SvidTemplate,
  isCryptoError,
  keyObjectSigner,
  mintX509SvidFromCsr,
  parseCsr,
  validateX509Svid,
  type CryptoErrorCode,
  type X509SvidTemplate,
} from './index';
import { counterRandom, generateKey, spySigner, type SpySigner } from './testing/support';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const NOW = new Date('2025-03-01T12:00:00Z');

function expectCode(code: CryptoErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isCryptoError(err), `expected CryptoError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

type PeculiarName = { type: 'url' | 'dns'; value: string };

/** A CSR made by an independent implementation (@peculiar/x509 over WebCrypto). */
async function peculiarCsr(
  names: PeculiarName[],
  algorithm: 'ECDSA' | 'Ed25519' = 'ECDSA',
): Promise<Buffer> {
  const alg =
    algorithm === 'ECDSA'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'Ed25519' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as unknown as CryptoKeyPairLike;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=workload',
    keys: keys as unknown as Parameters<
      typeof x509.Pkcs10CertificateRequestGenerator.create
    >[0]['keys'],
    signingAlgorithm: alg,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return Buffer.from(csr.rawData);
}
interface CryptoKeyPairLike {
  publicKey: unknown;
  privateKey: unknown;
}

async function setup(): Promise<{ template: X509SvidTemplate; spy: SpySigner }> {
  const ca = generateKey('ec-p256');
  const authority = await buildCaCertificate(
    {
      trustDomain: 'example.org',
      publicKey: ca.spki,
      serialRandom: Buffer.alloc(16, 9),
      notBefore: new Date('2025-03-01T00:00:00Z'),
      notAfter: new Date('2025-03-02T00:00:00Z'),
    },
    keyObjectSigner(ca.privateKey),
  );
  return { template: createX509SvidTemplate({ authority }), spy: spySigner(ca.privateKey) };
}

describe('parseCsr', () => {
  for (const type of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
    it(`round-trips a ${type} CSR built by buildCsr`, async () => {
      const key = generateKey(type);
      const csr = await buildCsr(
        {
          publicKey: key.spki,
          spiffeId: 'spiffe://example.org/a',
          dnsNames: ['a.example.org'],
          subject: { commonName: 'a' },
        },
        keyObjectSigner(key.privateKey),
      );
      const parsed = parseCsr(csr);
      assert.equal(parsed.publicKey.keyType, type);
      assert.deepEqual(parsed.publicKey.spki, key.spki);
      assert.deepEqual(parsed.uris, ['spiffe://example.org/a']);
      assert.deepEqual(parsed.dnsNames, ['a.example.org']);
      // An independent parser agrees the CSR is valid.
      const independent = new x509.Pkcs10CertificateRequest(csr);
      assert.equal(await independent.verify(), true);
    });
  }

  it('reads a CSR produced by @peculiar/x509', async () => {
    const csr = await peculiarCsr([
      { type: 'url', value: 'spiffe://example.org/x' },
      { type: 'dns', value: 'x.local' },
    ]);
    const parsed = parseCsr(csr);
    assert.deepEqual(parsed.uris, ['spiffe://example.org/x']);
    assert.deepEqual(parsed.dnsNames, ['x.local']);
  });

  it('rejects a tampered CSR with CSR_BAD_SIGNATURE', async () => {
    const key = generateKey('ec-p256');
    const csr = await buildCsr(
      { publicKey: key.spki, spiffeId: 'spiffe://example.org/a' },
      keyObjectSigner(key.privateKey),
    );
    const at = csr.indexOf(Buffer.from('/a'));
    csr[at + 1] = 0x62; // '/a' → '/b'
    assert.throws(() => parseCsr(csr), expectCode('CSR_BAD_SIGNATURE'));
  });

  it('rejects a CSR signed by another key with CSR_BAD_SIGNATURE', async () => {
    const key = generateKey('ec-p256');
    const csr = await buildCsr(
      { publicKey: key.spki },
      keyObjectSigner(generateKey('ec-p256').privateKey),
    );
    assert.throws(() => parseCsr(csr), expectCode('CSR_BAD_SIGNATURE'));
  });

  it('rejects malformed input with CSR_MALFORMED', async () => {
    const key = generateKey('ec-p256');
    const csr = await buildCsr({ publicKey: key.spki }, keyObjectSigner(key.privateKey));
    assert.throws(() => parseCsr(csr.subarray(0, csr.length - 1)), expectCode('CSR_MALFORMED'));
    assert.throws(
      () => parseCsr(Buffer.concat([csr, Buffer.from([0])])),
      expectCode('CSR_MALFORMED'),
    );
    assert.throws(() => parseCsr(Buffer.from('not a csr')), expectCode('CSR_MALFORMED'));
    assert.throws(() => parseCsr(Buffer.alloc(20_000)), expectCode('CSR_MALFORMED'));
  });

  it('rejects an Ed25519 CSR with UNSUPPORTED_KEY_TYPE', async () => {
    const csr = await peculiarCsr([], 'Ed25519');
    assert.throws(() => parseCsr(csr), expectCode('UNSUPPORTED_KEY_TYPE'));
  });
});

describe('mintX509SvidFromCsr', () => {
  it('issues for the CSR key with the authorized SPIFFE ID', async () => {
    const { template, spy } = await setup();
    const key = generateKey('ec-p256');
    const csr = await buildCsr(
      { publicKey: key.spki, dnsNames: ['a.local'] },
      keyObjectSigner(key.privateKey),
    );
    const svid = await mintX509SvidFromCsr(
      template,
      {
        spiffeId: 'spiffe://example.org/a',
        csr,
        dnsNames: ['a.local', 'b.local'],
        ttlSeconds: 300,
        now: NOW,
      },
      { signer: spy.signer, randomBytes: counterRandom() },
    );
    assert.equal(spy.calls.length, 1);
    const info = validateX509Svid(svid.certificate, {
      authority: template.authority,
      spiffeId: 'spiffe://example.org/a',
      publicKey: key.spki,
      dnsNames: ['a.local', 'b.local'],
      now: NOW,
    });
    assert.equal(info.notAfter.toISOString(), '2025-03-01T12:05:00.000Z');
    assert.ok(new x509.X509Certificate(svid.certificate).publicKey.rawData.byteLength > 0);
  });

  const refused: {
    name: string;
    code: CryptoErrorCode;
    csr: () => Promise<Buffer>;
    spiffeId?: string;
  }[] = [
    {
      name: 'two URI SANs requested',
      code: 'TOO_MANY_URI_SANS',
      csr: () =>
        peculiarCsr([
          { type: 'url', value: 'spiffe://example.org/a' },
          { type: 'url', value: 'spiffe://example.org/b' },
        ]),
    },
    {
      name: 'another SPIFFE ID requested',
      code: 'CSR_SPIFFE_ID_MISMATCH',
      csr: () => peculiarCsr([{ type: 'url', value: 'spiffe://example.org/admin' }]),
    },
    {
      name: 'unauthorized DNS name requested',
      code: 'CSR_DNS_NAME_NOT_ALLOWED',
      csr: () => peculiarCsr([{ type: 'dns', value: 'evil.example' }]),
    },
    {
      name: 'SPIFFE ID of another trust domain',
      code: 'SPIFFE_ID_NOT_IN_TRUST_DOMAIN',
      csr: () => peculiarCsr([]),
      spiffeId: 'spiffe://other.org/a',
    },
    {
      name: 'bad CSR signature',
      code: 'CSR_BAD_SIGNATURE',
      csr: async () => {
        const csr = await peculiarCsr([{ type: 'url', value: 'spiffe://example.org/a' }]);
        csr[csr.length - 5] = csr[csr.length - 5]! ^ 0xff;
        return csr;
      },
    },
    {
      name: 'unsupported key type',
      code: 'UNSUPPORTED_KEY_TYPE',
      csr: () => peculiarCsr([], 'Ed25519'),
    },
  ];
  for (const c of refused) {
    it(`${c.name} → ${c.code}, signer never called`, async () => {
      const { template, spy } = await setup();
      await assert.rejects(
        mintX509SvidFromCsr(
          template,
          {
            spiffeId: c.spiffeId ?? 'spiffe://example.org/a',
            csr: await c.csr(),
            dnsNames: ['a.local'],
            ttlSeconds: 300,
            now: NOW,
          },
          { signer: spy.signer, randomBytes: counterRandom() },
        ),
        expectCode(c.code),
      );
      assert.equal(spy.calls.length, 0);
    });
  }
});

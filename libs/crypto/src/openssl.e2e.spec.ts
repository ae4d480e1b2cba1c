/**
 * End-to-end checks against the OpenSSL CLI as an independent X.509 / PKCS#10 implementation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCaCertificate,
  createX509SvidTemplate,
  isCryptoError,
  keyObjectSigner,
  mintX509Svid,
  mintX509SvidFromCsr,
  parseCsr,
  pooledRandomSource,
  type CryptoErrorCode,
  type X509SvidTemplate,
} from './index';
import { generateKey, skipUnlessCi, toPem, type TestKey } from './testing/support';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
let dir = '';

function openssl(args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', input });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function expectCode(code: CryptoErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isCryptoError(err), `expected CryptoError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

async function caOf(
  type: 'ec-p256' | 'ec-p384' | 'rsa-2048',
): Promise<{ key: TestKey; template: X509SvidTemplate }> {
  const key = generateKey(type);
  const now = Date.now();
  const authority = await buildCaCertificate(
    {
      trustDomain: 'example.org',
      publicKey: key.spki,
      serialRandom: pooledRandomSource()(16),
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 24 * 3600_000),
    },
    keyObjectSigner(key.privateKey),
  );
  return { key, template: createX509SvidTemplate({ authority }) };
}

/** A CSR made by `openssl req` for a fresh key of `keyAlg` with the given SAN line. */
function opensslCsr(name: string, keyArgs: string[], san?: string): Buffer {
  assert.equal(openssl(['genpkey', ...keyArgs, '-out', `${name}.key`]).status, 0);
  const args = [
    'req',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    '/CN=workload',
    '-outform',
    'DER',
    '-out',
    `${name}.csr`,
  ];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  const r = openssl(args);
  assert.equal(r.status, 0, r.out);
  return readFileSync(join(dir, `${name}.csr`));
}

const missing = !hasOpenssl && 'openssl CLI not found';

describe('openssl interoperability', { skip: skipUnlessCi(missing) }, () => {
  before(() => {
    assert.equal(missing, false, `${missing} (required when CI is set)`);
    dir = mkdtempSync(join(tmpdir(), 'tp-crypto-e2e-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const type of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
    it(`openssl verify -x509_strict accepts an SVID from a ${type} CA and shows the profile`, async () => {
      const { key, template } = await caOf(type);
      const svid = await mintX509Svid(
        template,
        {
          spiffeId: 'spiffe://example.org/ns/prod/sa/api',
          publicKey: generateKey('ec-p256').spki,
          dnsNames: ['api.example.org'],
          ttlSeconds: 3600,
          now: new Date(),
        },
        { signer: keyObjectSigner(key.privateKey), randomBytes: pooledRandomSource() },
      );
      writeFileSync(join(dir, `ca-${type}.pem`), toPem(template.authority.certificate));
      writeFileSync(join(dir, `svid-${type}.pem`), toPem(svid.certificate));
      const v = openssl([
        'verify',
        '-x509_strict',
        '-CAfile',
        `ca-${type}.pem`,
        `svid-${type}.pem`,
      ]);
      assert.equal(v.status, 0, v.out);
      assert.match(v.out, /: OK/);
      for (const purpose of ['sslserver', 'sslclient']) {
        const p = openssl([
          'verify',
          '-purpose',
          purpose,
          '-CAfile',
          `ca-${type}.pem`,
          `svid-${type}.pem`,
        ]);
        assert.equal(p.status, 0, p.out);
      }
      const text = openssl(['x509', '-in', `svid-${type}.pem`, '-noout', '-text']).out;
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(
        text,
        /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement/,
      );
      assert.match(
        text,
        /X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
      );
      assert.match(
        text,
        /X509v3 Subject Alternative Name:\s+URI:spiffe:\/\/example.org\/ns\/prod\/sa\/api, DNS:api.example.org/,
      );
      assert.match(text, /X509v3 Authority Key Identifier:/);
      const caText = openssl(['x509', '-in', `ca-${type}.pem`, '-noout', '-text']).out;
      assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
      assert.match(caText, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
      assert.match(caText, /URI:spiffe:\/\/example.org/);
    });
  }

  it('accepts a CSR from openssl req and the resulting SVID verifies', async () => {
    const { key, template } = await caOf('ec-p256');
    const csr = opensslCsr(
      'good',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'URI:spiffe://example.org/w',
    );
    const parsed = parseCsr(csr);
    assert.deepEqual(parsed.uris, ['spiffe://example.org/w']);
    const svid = await mintX509SvidFromCsr(
      template,
      { spiffeId: 'spiffe://example.org/w', csr, ttlSeconds: 600, now: new Date() },
      { signer: keyObjectSigner(key.privateKey), randomBytes: pooledRandomSource() },
    );
    writeFileSync(join(dir, 'csr-ca.pem'), toPem(template.authority.certificate));
    writeFileSync(join(dir, 'csr-svid.pem'), toPem(svid.certificate));
    const v = openssl(['verify', '-x509_strict', '-CAfile', 'csr-ca.pem', 'csr-svid.pem']);
    assert.equal(v.status, 0, v.out);
    // The certificate carries the CSR's key.
    const certKey = openssl(['x509', '-in', 'csr-svid.pem', '-noout', '-pubkey']).out;
    const csrKey = openssl(['pkey', '-in', 'good.key', '-pubout']).out;
    assert.equal(certKey, csrKey);
  });

  it('accepts RSA CSRs from openssl req', () => {
    const csr = opensslCsr('rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    assert.equal(parseCsr(csr).publicKey.keyType, 'rsa-2048');
  });

  it('rejects a tampered openssl CSR with CSR_BAD_SIGNATURE', () => {
    const csr = opensslCsr(
      'tampered',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'URI:spiffe://example.org/w',
    );
    const at = csr.indexOf(Buffer.from('workload'));
    csr[at] = 0x57; // 'w' → 'W' inside the signed CertificationRequestInfo
    assert.throws(() => parseCsr(csr), expectCode('CSR_BAD_SIGNATURE'));
  });

  it('refuses two URI SANs and Ed25519 keys from openssl req, without signing', async () => {
    const { template } = await caOf('ec-p256');
    let calls = 0;
    const signer = (): Promise<Uint8Array> => {
      calls++;
      return Promise.resolve(Buffer.alloc(0));
    };
    const two = opensslCsr(
      'two',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'URI:spiffe://example.org/w,URI:spiffe://example.org/x',
    );
    await assert.rejects(
      mintX509SvidFromCsr(
        template,
        { spiffeId: 'spiffe://example.org/w', csr: two, ttlSeconds: 60, now: new Date() },
        { signer, randomBytes: pooledRandomSource() },
      ),
      expectCode('TOO_MANY_URI_SANS'),
    );
    const ed = opensslCsr('ed', ['-algorithm', 'ED25519']);
    await assert.rejects(
      mintX509SvidFromCsr(
        template,
        { spiffeId: 'spiffe://example.org/w', csr: ed, ttlSeconds: 60, now: new Date() },
        { signer, randomBytes: pooledRandomSource() },
      ),
      expectCode('UNSUPPORTED_KEY_TYPE'),
    );
    assert.equal(calls, 0);
  });
});

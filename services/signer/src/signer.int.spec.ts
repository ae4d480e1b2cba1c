// The signer on real NATS, Postgres and a key custody child: CA bootstrap, bundle, minting
// (CaService, the path the agent API mints through) checked by openssl and PyJWT, bad input,
// keyset operations over NATS with an authority, restart with the disk store, and a scan of
// everything it wrote for private key material.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { scanForPrivateKeys, unsealDiskKeyStore } from '@trustplane/testkit';
import { REDACTED_PATHS } from '@trustplane/platform';
import { isCryptoError } from '@trustplane/crypto';
import type { ApiTokenAuthority, BundleReply, KeysetReply } from '@trustplane/signer-api';
import type { ServedDeployment, X509MintRequest } from './ca-service.js';
import { startSignerHarness, type SeededTrustDomain, type SignerHarness } from './testing/harness.js';

let h: SignerHarness;
let td: SeededTrustDomain;
let authority: ApiTokenAuthority;
let logs = '';
const work = mkdtempSync(join(tmpdir(), 'tp-signer-test-'));

before(async () => {
  // Capture the signer's own log lines (and its custody child's, which it forwards).
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  h = await startSignerHarness('signer', {}, pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink));
  td = await h.seed('example.org');
  authority = await h.authority(td.tenant);
});
after(async () => h.close());

type Ok<T> = Extract<T, { ok: true }>;
function ok<T extends { ok: boolean }>(reply: T): Ok<T> {
  assert.equal(reply.ok, true, JSON.stringify(reply));
  return reply as Ok<T>;
}
function refused<T extends { ok: boolean }>(reply: T): string {
  assert.equal(reply.ok, false, JSON.stringify(reply));
  return (reply as unknown as { error: { code: string } }).error.code;
}
function deployment(): ServedDeployment {
  return { tenant: td.tenant, deploymentId: td.deploymentId, trustDomainId: td.trustDomainId, trustDomain: td.trustDomain };
}
/** Mints through CaService (as the agent API does); a refusal resolves to its code. */
async function mintX509(request: Partial<X509MintRequest> & { spiffeId: string }): Promise<{ chain: string[]; keysetId: string } | { code: string }> {
  try {
    const { svid, keysetId } = await h.signer.ca.mintX509(deployment(), request);
    return { chain: svid.chain.map((c) => c.toString('base64')), keysetId };
  } catch (error) {
    if (isCryptoError(error) || (error instanceof Error && 'code' in error)) return { code: String((error as { code: unknown }).code) };
    throw error;
  }
}
function minted(result: Awaited<ReturnType<typeof mintX509>>): { chain: string[]; keysetId: string } {
  assert.ok('chain' in result, JSON.stringify(result));
  return result;
}
function refusedMint(result: Awaited<ReturnType<typeof mintX509>>): string {
  assert.ok('code' in result, 'refused');
  return result.code;
}
function spkiDer(): Buffer {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
}
function pem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
async function bundleCas(): Promise<string> {
  const bundle = ok(await h.request<BundleReply>('bundle', { authority, trustDomainId: td.trustDomainId }));
  const keys = bundle.document['keys'] as { use: string; x5c?: string[] }[];
  return keys.filter((k) => k.use === 'x509-svid').map((k) => pem(Buffer.from(k.x5c?.[0] ?? '', 'base64'))).join('');
}

test('a managed deployment gets an active CA and a published bundle', async () => {
  const keysets = ok(await h.request<KeysetReply>('keyset', { authority, op: 'list', deploymentId: td.deploymentId })).keysets;
  assert.equal(keysets.filter((k) => k.state === 'active').length, 1);
  const bundle = ok(await h.request<BundleReply>('bundle', { authority, trustDomainId: td.trustDomainId }));
  const keys = bundle.document['keys'] as { use: string; kid?: string; x5c?: string[] }[];
  assert.equal(keys.filter((k) => k.use === 'x509-svid').length, 1);
  assert.equal(keys.filter((k) => k.use === 'jwt-svid').length, 1);
  assert.equal(keys.find((k) => k.use === 'x509-svid')?.kid, undefined, 'x509-svid keys carry no kid');
  assert.equal(typeof bundle.document['spiffe_sequence'], 'number');
  const ca = new X509Certificate(Buffer.from(keys[0]?.x5c?.[0] ?? '', 'base64'));
  assert.equal(ca.ca, true);
  assert.match(ca.subjectAltName ?? '', /URI:spiffe:\/\/example\.org/);
});

test('X.509-SVID from a public key: openssl verifies it against the bundle; profile as specified', async () => {
  const reply = minted(await mintX509({ spiffeId: 'spiffe://example.org/payments', publicKey: spkiDer(), dnsNames: ['payments.internal'] }));
  assert.equal(reply.chain.length, 2, 'leaf first, then the CA');
  writeFileSync(join(work, 'bundle.pem'), await bundleCas());
  writeFileSync(join(work, 'svid.pem'), pem(Buffer.from(reply.chain[0] ?? '', 'base64')));
  const verify = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(work, 'bundle.pem'), join(work, 'svid.pem')], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  const text = execFileSync('openssl', ['x509', '-in', join(work, 'svid.pem'), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(text, /CA:FALSE/);
  assert.equal((text.match(/URI:/g) ?? []).length, 1, 'exactly one URI SAN');
  assert.match(text, /URI:spiffe:\/\/example\.org\/payments/);
  assert.match(text, /DNS:payments\.internal/);
  const leaf = new X509Certificate(Buffer.from(reply.chain[0] ?? '', 'base64'));
  assert.ok(Date.parse(leaf.validTo) - Date.now() <= 3600_000 + 60_000, 'default TTL 1h');
});

test('X.509-SVID from an openssl CSR; bad input is refused with its code', async () => {
  const key = join(work, 'k.pem');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  const csrDer = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/O=test', '-outform', 'DER']);
  const mint = (body: Partial<X509MintRequest>) => mintX509({ spiffeId: 'spiffe://example.org/billing', ...body });
  minted(await mint({ csr: csrDer }));
  const tampered = Buffer.from(csrDer);
  tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0xff;
  assert.equal(refusedMint(await mint({ csr: tampered })), 'CSR_BAD_SIGNATURE');
  const twoUris = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/O=test', '-addext', 'subjectAltName=URI:spiffe://example.org/a,URI:spiffe://example.org/b', '-outform', 'DER']);
  assert.equal(refusedMint(await mint({ csr: twoUris })), 'TOO_MANY_URI_SANS');
  const spki = spkiDer();
  assert.equal(refusedMint(await mint({ publicKey: spki, spiffeId: 'spiffe://other.org/x' })), 'SPIFFE_ID_NOT_IN_TRUST_DOMAIN');
  assert.equal(refusedMint(await mint({ publicKey: spki, ttlSeconds: 10 * 86_400 })), 'TTL_TOO_LONG');
  assert.equal(refusedMint(await mint({ publicKey: spki, dnsNames: ['*.com'] })), 'INVALID_DNS_NAME');
  assert.equal(refusedMint(await mint({ publicKey: spki, dnsNames: ['10.0.0.1'] })), 'INVALID_DNS_NAME');
  const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(refusedMint(await mint({ publicKey: ed25519 })), 'UNSUPPORTED_KEY_TYPE');
});

test('JWT-SVID verifies with PyJWT against the bundle JWKS', async () => {
  const reply = await h.signer.ca.mintJwt(deployment(), { spiffeId: 'spiffe://example.org/payments', audience: ['billing'] });
  const [header] = reply.token.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header ?? '', 'base64url').toString()), { alg: 'ES256', kid: reply.keyId, typ: 'JWT' });
  const bundle = ok(await h.request<BundleReply>('bundle', { authority, trustDomainId: td.trustDomainId }));
  const script = `
import json, sys, jwt
bundle = json.loads(sys.argv[1]); token = sys.argv[2]
kid = jwt.get_unverified_header(token)["kid"]
jwk = [k for k in bundle["keys"] if k.get("use") == "jwt-svid" and k.get("kid") == kid][0]
key = jwt.PyJWK({k: v for k, v in jwk.items() if k != "use"}).key
claims = jwt.decode(token, key, algorithms=["ES256"], audience="billing")
print(json.dumps(claims))
`;
  const result = spawnSync('/usr/bin/python3', ['-c', script, JSON.stringify(bundle.document), reply.token], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const claims = JSON.parse(result.stdout);
  assert.equal(claims.sub, 'spiffe://example.org/payments');
  assert.deepEqual([claims.aud].flat(), ['billing']);
  assert.ok(claims.exp - claims.iat <= 300);
  await assert.rejects(h.signer.ca.mintJwt(deployment(), { spiffeId: 'spiffe://example.org/payments', audience: [] }), (error: unknown) => isCryptoError(error, 'AUDIENCE_REQUIRED'));
});

test('keysets: prepare publishes before use, activate switches, taint rotates; old SVIDs keep verifying', async () => {
  const before = ok(await h.request<BundleReply>('bundle', { authority, trustDomainId: td.trustDomainId }));
  const spki = spkiDer();
  const early = minted(await mintX509({ spiffeId: 'spiffe://example.org/early', publicKey: spki }));
  const prepared = ok(await h.request<KeysetReply>('keyset', { authority, op: 'prepare', deploymentId: td.deploymentId })).keysets;
  const next = prepared.find((k) => k.state === 'prepared');
  assert.ok(next, JSON.stringify(prepared));
  const published = ok(await h.request<BundleReply>('bundle', { authority, trustDomainId: td.trustDomainId }));
  assert.ok(published.sequence > before.sequence, 'the bundle changed and its sequence increased');
  assert.equal((published.document['keys'] as { use: string }[]).filter((k) => k.use === 'x509-svid').length, 2, 'published before use');
  const activated = ok(await h.request<KeysetReply>('keyset', { authority, op: 'activate', deploymentId: td.deploymentId, keysetId: next.id })).keysets;
  assert.equal(activated.find((k) => k.id === next.id)?.state, 'active');
  const late = minted(await mintX509({ spiffeId: 'spiffe://example.org/late', publicKey: spki }));
  assert.equal(late.keysetId, next.id);
  writeFileSync(join(work, 'bundle2.pem'), await bundleCas());
  for (const [name, chain] of [['early', early.chain], ['late', late.chain]] as const) {
    writeFileSync(join(work, `${name}.pem`), pem(Buffer.from(chain[0] ?? '', 'base64')));
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(work, 'bundle2.pem'), join(work, `${name}.pem`)], { encoding: 'utf8' });
    assert.equal(verify.status, 0, `${name}: ${verify.stderr}`);
  }
  const tainted = ok(await h.request<KeysetReply>('keyset', { authority, op: 'taint', deploymentId: td.deploymentId, keysetId: next.id })).keysets;
  assert.equal(tainted.find((k) => k.id === next.id)?.state, 'tainted');
  const active = tainted.filter((k) => k.state === 'active');
  assert.equal(active.length, 1);
  assert.notEqual(active[0]?.id, next.id, 'a tainted CA is replaced at once');
  assert.equal(refused(await h.request<KeysetReply>('keyset', { authority, op: 'activate', deploymentId: td.deploymentId, keysetId: 'ks-nope' })), 'CA_KEYSET_NOT_FOUND');
});

test('a restart with the disk key manager keeps the CA', async () => {
  const activeBefore = ok(await h.request<KeysetReply>('keyset', { authority, op: 'list', deploymentId: td.deploymentId })).keysets.find((k) => k.state === 'active');
  await h.restart();
  await h.signer.worker.tick();
  const after = ok(await h.request<KeysetReply>('keyset', { authority, op: 'list', deploymentId: td.deploymentId })).keysets;
  assert.equal(after.find((k) => k.state === 'active')?.id, activeBefore?.id, 'same active CA after restart');
  const afterRestart = minted(await mintX509({ spiffeId: 'spiffe://example.org/after-restart', publicKey: spkiDer() }));
  assert.equal(afterRestart.keysetId, activeBefore?.id, 'the sealed key was unsealed and used');
});

test('no private key material in any event, database row or log line', async () => {
  // The CA and JWT keys the signer sealed, unsealed with the test KEK: their bytes are searched for.
  const keys = await unsealDiskKeyStore(h.keyDir, h.env['TP_SIGNER_KEK_PATH'] ?? '');
  assert.ok(keys.length >= 2, 'the scan knows the signer’s keys');
  const { found, events } = await scanForPrivateKeys({ nc: h.nc, streamName: h.stream.streamName, pool: h.db.pool, logs: { signer: logs }, keys });
  assert.deepEqual(found, []);
  assert.ok(events > 5, 'the scan covered the events of this suite');
  assert.ok(logs.split('\n').length > 20, 'the scan covered the log lines of this suite');
});

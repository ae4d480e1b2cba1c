import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign, verify } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { AuthClientError, controlPlaneJwks, signDeploymentAssertion, verifyControlPlaneCredential, type AuthClientErrorCode } from './index.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'cpk-1', alg: 'ES256', use: 'sig' };
const keys = createLocalJWKSet({ keys: [jwk] });
const now = Math.floor(Date.now() / 1000);
const claims = { iss: 'trustplane-control-plane', aud: 'trustplane-control-plane', sub: 'tdd-0000000001', org: 't-0000000001', td: 'td-0000000001', key: 'tdk-0000000001', iat: now, exp: now + 60, jti: 'j' };

function es256(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function refusedWith(token: string, code: AuthClientErrorCode, options: { now?: Date } = {}): Promise<void> {
  await assert.rejects(verifyControlPlaneCredential(token, keys, options), (error: unknown) => error instanceof AuthClientError && error.code === code);
}

test('a well-formed ES256 credential verifies to its deployment, organization, trust domain and key', async () => {
  const verified = await verifyControlPlaneCredential(es256({ alg: 'ES256', kid: 'cpk-1', typ: 'JWT' }, claims), keys);
  assert.deepEqual(verified, { deploymentId: 'tdd-0000000001', trustDomainId: 'td-0000000001', organizationId: 't-0000000001', keyId: 'tdk-0000000001', expiresAt: new Date((now + 60) * 1000) });
});

test('each wrong credential is refused with its code', async () => {
  const header = { alg: 'ES256', kid: 'cpk-1', typ: 'JWT' };
  await refusedWith(es256(header, { ...claims, aud: 'elsewhere' }), 'CREDENTIAL_AUDIENCE_INVALID');
  await refusedWith(es256(header, { ...claims, iss: 'elsewhere' }), 'CREDENTIAL_AUDIENCE_INVALID');
  await refusedWith(es256({ ...header, kid: 'cpk-unknown' }, claims), 'CREDENTIAL_KEY_UNKNOWN');
  await refusedWith(es256(header, claims), 'CREDENTIAL_EXPIRED', { now: new Date((now + 60 + 31) * 1000) });
  await refusedWith(es256(header, { ...claims, exp: now + 90_000 }), 'CREDENTIAL_MALFORMED');
  await refusedWith(es256(header, { ...claims, org: 'acme' }), 'CREDENTIAL_MALFORMED');
  await refusedWith(es256({ alg: 'ES256', typ: 'JWT' }, claims), 'CREDENTIAL_MALFORMED');
  await refusedWith(`${b64({ alg: 'none', kid: 'cpk-1' })}.${b64(claims)}.`, 'CREDENTIAL_ALG_UNSUPPORTED');
  const hsInput = `${b64({ alg: 'HS256', kid: 'cpk-1', typ: 'JWT' })}.${b64(claims)}`;
  await refusedWith(`${hsInput}.${createHmac('sha256', JSON.stringify(jwk)).update(hsInput).digest('base64url')}`, 'CREDENTIAL_ALG_UNSUPPORTED');
  const [h, c] = es256(header, claims).split('.');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await refusedWith(`${h}.${c}.${sign('sha256', Buffer.from(`${h}.${c}`), { key: other.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`, 'CREDENTIAL_SIGNATURE_INVALID');
  await refusedWith('not.a.jwt', 'CREDENTIAL_MALFORMED');
});

test('an assertion is an EdDSA JWS over the contract claims, signed by the deployment key', () => {
  const pair = generateKeyPairSync('ed25519');
  const assertion = signDeploymentAssertion({
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    keyId: 'tdk-0000000001',
    deploymentId: 'tdd-0000000001',
    now: new Date(now * 1000),
    ttlSeconds: 120,
  });
  const [header, payload, signature] = assertion.split('.') as [string, string, string];
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'EdDSA', kid: 'tdk-0000000001', typ: 'JWT' });
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString());
  assert.deepEqual({ ...decoded, jti: typeof decoded.jti }, { iss: 'tdd-0000000001', sub: 'tdd-0000000001', aud: 'trustplane-control-plane', iat: now, exp: now + 120, jti: 'string' });
  assert.ok(verify(null, Buffer.from(`${header}.${payload}`), pair.publicKey, Buffer.from(signature, 'base64url')));
  const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  for (const input of [
    { privateKeyPem: pem, keyId: 'k1', deploymentId: 'tdd-0000000001' },
    { privateKeyPem: pem, keyId: 'tdk-0000000001', deploymentId: 'td-0000000001' },
    { privateKeyPem: pem, keyId: 'tdk-0000000001', deploymentId: 'tdd-0000000001', ttlSeconds: 301 },
    { privateKeyPem: ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), keyId: 'tdk-0000000001', deploymentId: 'tdd-0000000001' },
    { privateKeyPem: 'nope', keyId: 'tdk-0000000001', deploymentId: 'tdd-0000000001' },
  ]) {
    assert.throws(() => signDeploymentAssertion(input), (error: unknown) => error instanceof AuthClientError && error.code === 'ASSERTION_INPUT_INVALID');
  }
});

test('keys that cannot be fetched are CREDENTIAL_KEYS_UNAVAILABLE (retry), an unknown kid stays CREDENTIAL_KEY_UNKNOWN', async () => {
  const token = es256({ alg: 'ES256', kid: 'cpk-1', typ: 'JWT' }, claims);
  const unreachable = async () => {
    throw new TypeError('fetch failed');
  };
  await assert.rejects(verifyControlPlaneCredential(token, unreachable), (error: unknown) => error instanceof AuthClientError && error.code === 'CREDENTIAL_KEYS_UNAVAILABLE');
  // Nothing listens there: the remote key set's fetch fails.
  await assert.rejects(verifyControlPlaneCredential(token, controlPlaneJwks('http://127.0.0.1:1/')), (error: unknown) => error instanceof AuthClientError && error.code === 'CREDENTIAL_KEYS_UNAVAILABLE');
  await refusedWith(es256({ alg: 'ES256', kid: 'cpk-2', typ: 'JWT' }, claims), 'CREDENTIAL_KEY_UNKNOWN');
});

// Self-hosted mode without I/O: its configuration is validated at boot, what the control plane
// sends is parsed strictly, and what the signer reports holds public material only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '@trustplane/platform';
import type { Keyset } from '@trustplane/ca-domain';
import { loadSignerConfig } from '../config.js';
import { reportedKeysets } from './report.js';
import { parseSyncMessage } from './wire.js';
import { SyncMirror } from './mirror.js';
import pino from 'pino';

const selfHosted = {
  TP_SIGNER_MODE: 'self-hosted',
  TP_SIGNER_DEPLOYMENT_ID: 'tdd-0000000001',
  TP_SIGNER_DEPLOYMENT_KEY_ID: 'tdk-0000000001',
  TP_SIGNER_DEPLOYMENT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n',
  TP_SIGNER_CONTROL_PLANE_URL: 'https://trust.example.com',
  TP_SIGNER_MIRROR_NATS_USER: 'tp-registry',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadSignerConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('the configuration was accepted');
}

test('self-hosted configuration: complete is accepted; each missing or contradictory setting is named', () => {
  const config = loadSignerConfig(selfHosted);
  assert.equal(config.mode, 'self-hosted');
  assert.equal(config.deploymentId, 'tdd-0000000001');
  assert.equal(loadSignerConfig({}).mode, 'managed');
  for (const key of ['TP_SIGNER_DEPLOYMENT_ID', 'TP_SIGNER_DEPLOYMENT_KEY_ID', 'TP_SIGNER_CONTROL_PLANE_URL', 'TP_SIGNER_MIRROR_NATS_USER']) {
    const { [key]: _omitted, ...rest } = selfHosted as Record<string, string>;
    assert.equal(refusal(rest).key, key);
  }
  const { TP_SIGNER_DEPLOYMENT_PRIVATE_KEY: _key, ...noKey } = selfHosted;
  assert.equal(refusal(noKey).key, 'TP_SIGNER_DEPLOYMENT_PRIVATE_KEY');
  assert.equal(refusal({ ...selfHosted, TP_SIGNER_DEPLOYMENT_PRIVATE_KEY_FILE: '/etc/key.pem' }).key, 'TP_SIGNER_DEPLOYMENT_PRIVATE_KEY');
  assert.equal(refusal({ ...selfHosted, TP_SIGNER_DEPLOYMENT_ID: 'td-0000000001' }).key, 'TP_SIGNER_DEPLOYMENT_ID');
  assert.equal(refusal({ TP_SIGNER_CONTROL_PLANE_URL: 'https://trust.example.com' }).key, 'TP_SIGNER_CONTROL_PLANE_URL', 'managed mode refuses self-hosted settings');
  assert.equal(refusal({ ...selfHosted, TP_SIGNER_CONTROL_PLANE_URL: 'file:///etc/passwd' }).key, 'TP_SIGNER_CONTROL_PLANE_URL');
});

test('sync messages: well-formed ones parse; anything else is refused', () => {
  const state = { trustDomain: { id: 'td-0000000001', name: 'example.org', organizationId: 't-0000000001' }, deployment: { id: 'tdd-0000000001', name: 'a', region: '' }, entries: [], clusters: [], joinTokens: [], authorities: [] };
  assert.equal(parseSyncMessage(JSON.stringify({ type: 'state', position: 7, state })).type, 'state');
  assert.deepEqual(parseSyncMessage('{"type":"heartbeat","position":3}'), { type: 'heartbeat', position: 3 });
  assert.deepEqual(parseSyncMessage('{"type":"end","reason":"CREDENTIAL_EXPIRED"}'), { type: 'end', reason: 'CREDENTIAL_EXPIRED' });
  for (const bad of [
    'not json',
    '[]',
    '{"type":"state","position":-1}',
    '{"type":"state","position":1.5,"state":{}}',
    JSON.stringify({ type: 'state', position: 1, state: { ...state, entries: 'x' } }),
    JSON.stringify({ type: 'state', position: 1, state: { ...state, deployment: {} } }),
    '{"type":"surprise","position":1}',
  ]) {
    assert.throws(() => parseSyncMessage(bad), Error, bad);
  }
});

test('reports carry the CA certificate and a public JWK; never a key handle; dropped and revoked keysets are left out', () => {
  const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyset = (keysetId: string, status: Keyset['status']): Keyset => ({
    keysetId,
    keyType: 'ec-p256',
    status,
    notBefore: 0,
    notAfter: Date.parse('2030-01-01T00:00:00Z'),
    maxX509SvidTtlSeconds: 3600,
    maxJwtSvidTtlSeconds: 300,
    x509: { keyHandle: `x509-${keysetId}`, certificate: 'Q0VSVA==', subjectKeyId: 'aa', publicKey: 'UEs=', serialNumber: '01' },
    jwt: { keyHandle: `jwt-${keysetId}`, keyId: `kid-${keysetId}`, publicKey: jwt.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
    preparedAt: 0,
    activatedAt: null,
    deactivatedAt: null,
    taintedAt: null,
    revokedAt: null,
    droppedAt: null,
  });
  const reported = reportedKeysets([keyset('ks-1', 'dropped'), keyset('ks-2', 'revoked'), keyset('ks-3', 'old'), keyset('ks-4', 'active')]);
  assert.deepEqual(reported.map((k) => [k.keysetId, k.state]), [['ks-3', 'old'], ['ks-4', 'active']]);
  const text = JSON.stringify(reported);
  assert.doesNotMatch(text, /x509-ks|jwt-ks/, 'no key handles');
  for (const k of reported) {
    assert.deepEqual(k.x509Authorities, ['Q0VSVA==']);
    assert.equal(k.jwtAuthorities[0]?.publicKeyJwk['kty'], 'EC');
    assert.ok(!('d' in (k.jwtAuthorities[0]?.publicKeyJwk ?? {})), 'public JWK only');
    assert.equal(k.notAfter, '2030-01-01T00:00:00.000Z');
  }
});

test('the mirror refuses a state meant for another deployment before touching the log or the database', async () => {
  const untouchable = new Proxy({}, { get: () => assert.fail('the mirror touched the log or the database') });
  const mirror = new SyncMirror({
    log: untouchable as never,
    pool: untouchable as never,
    schema: 'signer',
    deploymentId: 'tdd-0000000001',
    clock: { now: () => new Date() },
    logger: pino({ level: 'silent' }),
  });
  const state = { trustDomain: { id: 'td-0000000001', name: 'example.org', organizationId: 't-0000000001' }, deployment: { id: 'tdd-0000000002', name: 'b', region: '' }, entries: [], clusters: [], joinTokens: [], authorities: [] };
  await assert.rejects(mirror.apply(state), /for deployment tdd-0000000002, not tdd-0000000001/);
});

import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyManagerError } from './errors.js';
import { verifySignature } from './keys.js';
import { KEY_TYPES } from './types.js';
import { WebhookKeyManager, type WebhookKeyManagerOptions } from './webhook.js';
import {
  makeTestPki,
  spawnReferenceWebhook,
  type TestPki,
  type WebhookProcess,
} from './test-support/fixtures.js';

function code(c: string): (err: unknown) => boolean {
  return (err) => err instanceof KeyManagerError && err.code === c;
}

const message = Buffer.from('TBSCertificate bytes');
let pki: TestPki;
let tokenPath: string;
let webhook: WebhookProcess;
const started: WebhookProcess[] = [];
const managers: WebhookKeyManager[] = [];

function client(extra: Partial<WebhookKeyManagerOptions> = {}): WebhookKeyManager {
  const km = new WebhookKeyManager({
    webhookURL: webhook.url,
    authType: 'bearer',
    tokenPath,
    caCertPath: pki.caCertPath,
    timeout: '5s',
    ...extra,
  });
  managers.push(km);
  return km;
}

/** A local port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

before(async () => {
  pki = makeTestPki();
  tokenPath = join(pki.dir, 'token');
  writeFileSync(tokenPath, 'test-bearer-token-123\n', { mode: 0o600 });
  webhook = await spawnReferenceWebhook(pki, ['--token-file', tokenPath]);
  started.push(webhook);
});

after(async () => {
  for (const km of managers) await km.close();
  for (const w of started) await w.stop();
  rmSync(pki.dir, { recursive: true, force: true });
});

describe('WebhookKeyManager against the reference webhook (HTTPS, bearer token)', () => {
  it('creates, lists, signs in both forms and verifies, for every key type', async () => {
    const km = client();
    await km.start();
    assert.equal(km.ready(), true);
    for (const keyType of KEY_TYPES) {
      const info = await km.create(`wh-${keyType}`, keyType);
      assert.equal(info.keyType, keyType);
      assert.deepEqual(await km.publicKey(info.keyId), info);
      for (const hashAlgorithm of ['sha256', 'sha384'] as const) {
        const digest = createHash(hashAlgorithm).update(message).digest();
        const a = await km.sign(info.keyId, { digest, hashAlgorithm });
        const b = await km.sign(info.keyId, { message, hashAlgorithm });
        assert.ok(verifySignature(info, { message, hashAlgorithm }, a));
        assert.ok(verifySignature(info, { digest, hashAlgorithm }, b));
      }
    }
    assert.deepEqual(
      (await km.list()).map((k) => k.keyId),
      ['wh-ec-p256', 'wh-ec-p384', 'wh-rsa-2048'],
    );
    await assert.rejects(km.create('wh-ec-p256', 'ec-p256'), code('KEY_EXISTS'));
    await assert.rejects(
      km.sign('missing', { message, hashAlgorithm: 'sha256' }),
      code('KEY_NOT_FOUND'),
    );
  });

  it('discovers existing keys on start (GET /keys) and releases them', async () => {
    const creator = client();
    await creator.start();
    const info = await creator.create('discover-me', 'ec-p256');
    const km = client();
    await km.start();
    assert.deepEqual(await km.publicKey('discover-me'), info);
    const sig = await km.sign('discover-me', { message, hashAlgorithm: 'sha256' });
    assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha256' }, sig));
    await km.release('discover-me');
    await assert.rejects(
      creator.sign('discover-me', { message, hashAlgorithm: 'sha256' }),
      code('KEY_NOT_FOUND'),
    );
  });

  it('logs one line per signature, carrying the webhook process pid', async () => {
    const km = client();
    await km.start();
    await km.create('logged', 'ec-p256');
    const before = webhook.lines.filter((l) => l.event === 'sign' && l.key_id === 'logged').length;
    for (let i = 0; i < 5; i++) await km.sign('logged', { message, hashAlgorithm: 'sha256' });
    await new Promise((r) => setTimeout(r, 100));
    const lines = webhook.lines.filter((l) => l.event === 'sign' && l.key_id === 'logged');
    assert.equal(lines.length - before, 5);
    for (const line of lines) {
      assert.equal(line.pid, webhook.pid);
      assert.notEqual(line.pid, process.pid);
    }
  });

  it('a wrong bearer token is WEBHOOK_UNAUTHORIZED and not ready', async () => {
    const badToken = join(pki.dir, 'bad-token');
    writeFileSync(badToken, 'wrong');
    const km = client({ tokenPath: badToken });
    await assert.rejects(km.start(), code('WEBHOOK_UNAUTHORIZED'));
    assert.equal(km.ready(), false);
    assert.equal(km.health().lastErrorCode, 'WEBHOOK_UNAUTHORIZED');
  });

  it('a certificate not issued by caCertPath is refused as WEBHOOK_UNREACHABLE', async () => {
    const km = client({ caCertPath: undefined });
    await assert.rejects(km.start(), code('WEBHOOK_UNREACHABLE'));
  });

  it('an unreachable webhook is WEBHOOK_UNREACHABLE and ready() false', async () => {
    const km = client({ webhookURL: `https://127.0.0.1:${await deadPort()}` });
    await assert.rejects(km.start(), code('WEBHOOK_UNREACHABLE'));
    assert.equal(km.ready(), false);
    assert.equal(km.health().lastErrorCode, 'WEBHOOK_UNREACHABLE');
    await assert.rejects(
      km.sign('any', { message, hashAlgorithm: 'sha256' }),
      code('WEBHOOK_UNREACHABLE'),
    );
  });

  it('a webhook slower than the timeout is WEBHOOK_TIMEOUT and not ready', async () => {
    const slow = await spawnReferenceWebhook(pki, ['--fault', 'slow', '--fault-delay-ms', '2000']);
    started.push(slow);
    const km = client({ webhookURL: slow.url, authType: 'none', timeout: '300ms' });
    const t0 = Date.now();
    await assert.rejects(km.start(), code('WEBHOOK_TIMEOUT'));
    assert.ok(Date.now() - t0 < 1500, 'fails at the timeout, not when the webhook answers');
    assert.equal(km.ready(), false);
    assert.equal(km.health().lastErrorCode, 'WEBHOOK_TIMEOUT');
  });

  it('a webhook reporting a wrong key fingerprint is refused: FINGERPRINT_MISMATCH, nothing returned', async () => {
    const liar = await spawnReferenceWebhook(pki, ['--fault', 'wrong-fingerprint']);
    started.push(liar);
    const km = client({ webhookURL: liar.url, authType: 'none' });
    await km.start();
    await km.create('k', 'ec-p256');
    await assert.rejects(
      km.sign('k', { message, hashAlgorithm: 'sha256' }),
      code('FINGERPRINT_MISMATCH'),
    );
    assert.equal(km.ready(), false);
  });

  it('a webhook signing with another key is caught by verification: SIGNATURE_INVALID', async () => {
    const liar = await spawnReferenceWebhook(pki, ['--fault', 'wrong-key']);
    started.push(liar);
    const km = client({ webhookURL: liar.url, authType: 'none' });
    await km.start();
    for (const keyType of KEY_TYPES) {
      await km.create(`k-${keyType}`, keyType);
      await assert.rejects(
        km.sign(`k-${keyType}`, { message, hashAlgorithm: 'sha256' }),
        code('SIGNATURE_INVALID'),
      );
      const digest = createHash('sha384').update(message).digest();
      await assert.rejects(
        km.sign(`k-${keyType}`, { digest, hashAlgorithm: 'sha384' }),
        code('SIGNATURE_INVALID'),
      );
    }
    assert.equal(km.health().lastErrorCode, 'SIGNATURE_INVALID');
  });

  it('plain http is refused unless allowInsecureForTests', () => {
    assert.throws(
      () => new WebhookKeyManager({ webhookURL: 'http://127.0.0.1:1' }),
      code('CONFIG_INVALID'),
    );
  });
});

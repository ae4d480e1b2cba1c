// The policy against the real file system and network: symbolic links that lead out of a
// tenant's root are refused, links inside it are not; a webhook on the allow-list that answers
// with a redirect does not take the client (and its bearer token) anywhere else.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confinedPathProblems, isKeyManagerError, parseKeyManagerConfig, parsePathRoots, WebhookKeyManager, type KeyManagerPolicy } from './index.js';
import { makeTestPki } from './test-support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'tp-km-policy-'));
after(() => rmSync(work, { recursive: true, force: true }));

const TENANT = 't-aaaaaaaaaa';
const tenantRoot = join(work, 'tenants', TENANT);
const outside = join(work, 'outside');
mkdirSync(tenantRoot, { recursive: true });
mkdirSync(outside);
writeFileSync(join(outside, 'secret'), 'not yours');
symlinkSync(outside, join(tenantRoot, 'escape'));
symlinkSync(join(outside, 'secret'), join(tenantRoot, 'token-link'));
mkdirSync(join(tenantRoot, 'real'));
symlinkSync(join(tenantRoot, 'real'), join(tenantRoot, 'inside'));
const policy: KeyManagerPolicy = { kind: 'confined', pathRoots: parsePathRoots(join(work, 'tenants', '{tenant}')), webhookUrlPrefixes: ['https://kms.internal'] };

async function problems(spec: Record<string, unknown>): Promise<string[]> {
  return (await confinedPathProblems(parseKeyManagerConfig(spec), policy, TENANT)).map((p) => `${p.key}: ${p.message}`);
}

test('symbolic links out of the tenant root are refused; links inside it and paths still to be created pass', async () => {
  const escapes = await problems({ kind: 'disk', dir: join(tenantRoot, 'escape', 'keys'), kekPath: join(tenantRoot, 'kek') });
  assert.equal(escapes.length, 1);
  assert.match(escapes[0] ?? '', /^dir: resolves .* outside/);
  const token = await problems({ kind: 'webhook', webhookURL: 'https://kms.internal/', authType: 'bearer', tokenPath: join(tenantRoot, 'token-link') });
  assert.match(token[0] ?? '', /^tokenPath: resolves .* outside/);
  assert.deepEqual(await problems({ kind: 'disk', dir: join(tenantRoot, 'inside', 'keys', 'more'), kekPath: join(tenantRoot, 'not', 'yet', 'kek') }), []);
  // Another tenant's root does not exist yet: resolved through its deepest existing ancestor.
  const other = await confinedPathProblems(parseKeyManagerConfig({ kind: 'disk', dir: join(work, 'tenants', 't-bbbbbbbbbb', 'keys'), kekPath: join(work, 'tenants', 't-bbbbbbbbbb', 'kek') }), policy, 't-bbbbbbbbbb');
  assert.deepEqual(other, []);
  // …but tenant A cannot point into it.
  assert.equal((await problems({ kind: 'disk', dir: join(work, 'tenants', 't-bbbbbbbbbb', 'keys'), kekPath: join(tenantRoot, 'kek') })).length, 1);
});

test('a webhook that redirects does not take the client anywhere: the redirect is an error, the target sees nothing', async () => {
  const pki = makeTestPki('tp-km-redirect-');
  const tls = { cert: readFileSync(pki.serverCertPath), key: readFileSync(pki.serverKeyPath) };
  const seenByTarget: string[] = [];
  const target: Server = createServer(tls, (request, response) => {
    seenByTarget.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetUrl = `https://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const redirecting: Server = createServer(tls, (request, response) => {
    response.writeHead(307, { location: `${targetUrl}${request.url ?? '/'}` }).end();
  });
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  const km = new WebhookKeyManager({
    webhookURL: `https://127.0.0.1:${(redirecting.address() as AddressInfo).port}`,
    authType: 'bearer',
    token: 'tenant-bearer-token',
    caCertPath: pki.caCertPath,
    timeout: '5s',
  });
  try {
    await assert.rejects(km.start(), (error) => isKeyManagerError(error, 'WEBHOOK_ERROR') && /307/.test(error.message));
    await assert.rejects(km.create('k', 'ec-p256'), (error) => isKeyManagerError(error, 'WEBHOOK_ERROR'));
    assert.deepEqual(seenByTarget, [], 'the redirect target was never contacted');
  } finally {
    await km.close();
    await new Promise((resolve) => target.close(resolve));
    await new Promise((resolve) => redirecting.close(resolve));
    rmSync(pki.dir, { recursive: true, force: true });
  }
});

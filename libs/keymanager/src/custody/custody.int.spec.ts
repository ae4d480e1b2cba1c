import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KeyManagerError } from '../errors.js';
import { verifySignature } from '../keys.js';
import { KEY_TYPES } from '../types.js';
import { eventually, makeTestPki, spawnReferenceWebhook, type TestPki, type WebhookProcess } from '../test-support/fixtures.js';
import { startKeyCustody, type KeyCustody, type KeyCustodyOptions } from './supervisor.js';

const root = mkdtempSync(join(tmpdir(), 'tp-custody-'));
// Let other uids traverse the root so the uid test reaches the socket directory's own checks.
chmodSync(root, 0o755);
const running: KeyCustody[] = [];
after(async () => {
  for (const c of running) await c.stop();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
async function custody(
  keyManager: KeyCustodyOptions['keyManager'],
  extra: Partial<KeyCustodyOptions> & { events?: Array<Record<string, unknown>> } = {},
): Promise<KeyCustody> {
  n++;
  const events = extra.events;
  const c = await startKeyCustody({
    socketDir: join(root, `s${n}`),
    keyManager,
    restartInitialDelayMs: 50,
    log: (e) => events?.push(e),
    ...extra,
  });
  running.push(c);
  return c;
}

function code(c: string): (err: unknown) => boolean {
  return (err) => err instanceof KeyManagerError && err.code === c;
}

const message = Buffer.from('TBSCertificate through custody');

/** A reference webhook process (own PKI) that serves only clients presenting `token`. */
async function webhookRequiring(token: string): Promise<{ pki: TestPki; tokenPath: string; webhook: WebhookProcess }> {
  const pki = makeTestPki();
  const tokenPath = join(pki.dir, 'token');
  writeFileSync(tokenPath, token, { mode: 0o600 });
  return { pki, tokenPath, webhook: await spawnReferenceWebhook(pki, ['--token-file', tokenPath]) };
}

/** Runs a process as uid/gid 65534 that connects to `socketPath`, sends a LIST frame and reports. */
function connectAsNobody(socketPath: string): Promise<{ outcome: string; detail: string }> {
  const script = `
    const net = require('node:net');
    const s = net.createConnection(process.argv[1]);
    let got = 0, done = false;
    const out = (outcome, detail) => { if (done) return; done = true; console.log(JSON.stringify({ outcome, detail })); process.exit(0); };
    s.on('connect', () => s.write(Buffer.from([0,0,0,5,2,0,0,0,1])));
    s.on('data', (d) => { got += d.length; out('answered', String(got)); });
    s.on('error', (e) => out(e.code === 'EACCES' ? 'eacces' : 'error', e.code));
    s.on('close', () => out('closed', 'closed without an answer'));
    setTimeout(() => out('timeout', ''), 5000);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, socketPath], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(stdout.trim()) as { outcome: string; detail: string });
      } catch {
        reject(new Error(`nobody client failed: ${stdout} ${stderr}`));
      }
    });
  });
}

describe('key custody child process', () => {
  it('signs through the socket from a separate process; socket 0600 in a 0700 directory', async () => {
    const c = await custody({ kind: 'memory' });
    assert.equal(c.state(), 'ready');
    assert.notEqual(c.pid(), process.pid);
    assert.equal(statSync(c.socketPath).mode & 0o777, 0o600);
    assert.ok(statSync(c.socketPath).isSocket());
    assert.equal(statSync(join(c.socketPath, '..')).mode & 0o777, 0o700);
    const km = c.client;
    assert.equal(km.ready(), true);
    for (const keyType of KEY_TYPES) {
      const info = await km.create(`c-${keyType}`, keyType);
      assert.deepEqual(await km.publicKey(info.keyId), info);
      const viaMessage = await km.sign(info.keyId, { message, hashAlgorithm: 'sha256' });
      const digest = createHash('sha384').update(message).digest();
      const viaDigest = await km.sign(info.keyId, { digest, hashAlgorithm: 'sha384' });
      assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha256' }, viaMessage));
      assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha384' }, viaDigest));
    }
    assert.equal((await km.list()).length, 3);
    await assert.rejects(km.create('c-ec-p256', 'ec-p256'), code('KEY_EXISTS'));
    await assert.rejects(
      km.sign('nope', { message, hashAlgorithm: 'sha256' }),
      code('KEY_NOT_FOUND'),
    );
    await km.release('c-ec-p384');
    await assert.rejects(km.publicKey('c-ec-p384'), code('KEY_NOT_FOUND'));
  });

  it('pipelines thousands of requests on one connection, answers matched by id', async () => {
    const c = await custody({ kind: 'memory' });
    const ec = await c.client.create('p-ec', 'ec-p256');
    const rsa = await c.client.create('p-rsa', 'rsa-2048');
    const jobs = Array.from({ length: 2000 }, (_, i) => {
      const info = i % 10 === 0 ? rsa : ec;
      const msg = Buffer.from(`message ${i}`);
      // Mix fast (message) and slow (digest) requests so answers can come back in any order.
      const req =
        i % 25 === 0
          ? { digest: createHash('sha256').update(msg).digest(), hashAlgorithm: 'sha256' as const }
          : { message: msg, hashAlgorithm: 'sha256' as const };
      return c.client
        .sign(info.keyId, req)
        .then((sig) => verifySignature(info, { message: msg, hashAlgorithm: 'sha256' }, sig));
    });
    const results = await Promise.all(jobs);
    assert.ok(results.every(Boolean));
    assert.equal(c.client.inFlight, 0);
  });

  it('rejects a connection from another uid (kernel peer credentials)', async () => {
    const events: Array<Record<string, unknown>> = [];
    const c = await custody({ kind: 'memory' }, { events });
    // With the intended permissions, uid 65534 cannot even reach the socket.
    assert.equal((await connectAsNobody(c.socketPath)).outcome, 'eacces');
    // Loosen the file permissions (a misconfiguration): the SO_PEERCRED uid check still refuses.
    const dir = join(c.socketPath, '..');
    chmodSync(dir, 0o755);
    chmodSync(c.socketPath, 0o666);
    try {
      const res = await connectAsNobody(c.socketPath);
      // Dropped without an answer: seen by the peer as a close, EPIPE or ECONNRESET.
      assert.ok(
        res.outcome === 'closed' ||
          (res.outcome === 'error' && ['EPIPE', 'ECONNRESET'].includes(res.detail)),
        JSON.stringify(res),
      );
    } finally {
      chmodSync(c.socketPath, 0o600);
      chmodSync(dir, 0o700);
    }
    await new Promise((r) => setTimeout(r, 100));
    const rejected = events.filter(
      (e) => e.event === 'child_log' && String(e.line).includes('peer_rejected'),
    );
    assert.equal(rejected.length, 1);
    assert.match(String(rejected[0]?.line), /"peerUid":65534/);
    // The owner still works.
    await c.client.create('still-works', 'ec-p256');
  });

  it('killing the child fails calls fast with CUSTODY_UNAVAILABLE; the supervisor restarts it', async () => {
    const c = await custody({ kind: 'memory' });
    await c.client.create('k', 'ec-p256');
    const firstPid = c.pid() as number;
    const inFlight = Array.from({ length: 200 }, () =>
      c.client.sign('k', { message, hashAlgorithm: 'sha256' }).then(
        () => 'ok',
        (err: unknown) => (err instanceof KeyManagerError ? err.code : 'other'),
      ),
    );
    process.kill(firstPid, 'SIGKILL');
    const t0 = Date.now();
    const outcomes = await Promise.all(inFlight);
    assert.ok(
      outcomes.every((o) => o === 'ok' || o === 'CUSTODY_UNAVAILABLE'),
      outcomes.join(','),
    );
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(
      c.client.sign('k', { message, hashAlgorithm: 'sha256' }),
      code('CUSTODY_UNAVAILABLE'),
    );
    assert.ok(Date.now() - t0 < 2000, 'fails fast, does not hang');
    assert.equal(c.client.ready(), false);

    await c.waitReady(10_000);
    assert.notEqual(c.pid(), firstPid);
    assert.ok(c.restarts() >= 1);
    assert.equal(c.client.ready(), true);
    // Memory custody starts empty after a restart.
    assert.deepEqual(await c.client.list(), []);
    await c.client.create('k', 'ec-p256');
  });

  it('a hung child makes calls fail with CUSTODY_UNAVAILABLE at the per-call deadline', async () => {
    const c = await custody({ kind: 'memory' }, { callTimeoutMs: 300 });
    await c.client.create('k', 'ec-p256');
    const pid = c.pid() as number;
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      await assert.rejects(
        c.client.sign('k', { message, hashAlgorithm: 'sha256' }),
        code('CUSTODY_UNAVAILABLE'),
      );
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await c.client.sign('k', { message, hashAlgorithm: 'sha256' });
  });

  it('disk custody keeps its keys across a child restart', async () => {
    const dir = join(root, 'disk-keys');
    const kekPath = join(root, 'disk-kek');
    const c = await custody({ kind: 'disk', dir, kekPath, createKek: true });
    const info = await c.client.create('x509-CA-A', 'ec-p256');
    const rsa = await c.client.create('jwt-A', 'rsa-2048');
    const firstPid = c.pid() as number;
    const restartsBefore = c.restarts();
    process.kill(firstPid, 'SIGKILL');
    // Wait until the supervisor has seen the death and brought a new child up.
    const deadline = Date.now() + 10_000;
    while (c.restarts() === restartsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await eventually(() => c.pid() !== firstPid, 10_000);
    await c.waitReady(10_000);
    assert.notEqual(c.pid(), firstPid);
    assert.deepEqual(await c.client.list(), [rsa, info]);
    const sig = await c.client.sign('x509-CA-A', { message, hashAlgorithm: 'sha256' });
    assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha256' }, sig));
  });

  it('a tampered sealed store fails start with SEAL_INVALID', async () => {
    const dir = join(root, 'tamper-keys');
    const kekPath = join(root, 'tamper-kek');
    const c = await custody({ kind: 'disk', dir, kekPath, createKek: true });
    await c.client.create('k', 'ec-p256');
    await c.stop();
    const file = join(dir, readdirSync(dir)[0] as string);
    writeFileSync(
      file,
      JSON.stringify({
        ...JSON.parse('{}'),
        v: 1,
        alg: 'A256GCM',
        keyId: 'k',
        keyType: 'ec-p256',
        fingerprint: 'x',
        nonce: 'AAAAAAAAAAAAAAAA',
        ciphertext: 'AA==',
        tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
      }),
    );
    await assert.rejects(custody({ kind: 'disk', dir, kekPath }), code('SEAL_INVALID'));
  });

  it('reconfigure switches the KeyManager at runtime without restarting, and restarts keep the new config', async () => {
    const dir = join(root, 'reconf-keys');
    const kekPath = join(root, 'reconf-kek');
    const c = await custody({ kind: 'memory' });
    await c.client.create('mem-only', 'ec-p256');
    const pid = c.pid();
    await c.reconfigure({ kind: 'disk', dir, kekPath, createKek: true });
    assert.equal(c.pid(), pid);
    assert.deepEqual(await c.client.list(), []);
    const info = await c.client.create('on-disk', 'ec-p384');
    await assert.rejects(
      c.reconfigure({ kind: 'disk', dir, kekPath: join(root, 'no-such-kek') }),
      code('KEK_INVALID'),
    );
    assert.deepEqual(
      await c.client.list(),
      [info],
      'a failed reconfigure keeps the current KeyManager',
    );
    const restartsBefore = c.restarts();
    process.kill(pid as number, 'SIGKILL');
    // Wait until the supervisor has seen the death and brought a new child up.
    const deadline = Date.now() + 10_000;
    while (c.restarts() === restartsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.waitReady(10_000);
    assert.notEqual(c.pid(), pid);
    assert.deepEqual(await c.client.list(), [info]);
  });

  it('webhook custody: the reference webhook process signs, neither the parent nor the custody child', async () => {
    const { pki, tokenPath, webhook } = await webhookRequiring('custody-token');
    try {
      const c = await custody({
        kind: 'webhook',
        webhookURL: webhook.url,
        authType: 'bearer',
        tokenPath,
        caCertPath: pki.caCertPath,
        timeout: '5s',
      });
      assert.equal(c.client.ready(), true);
      const info = await c.client.create('wh', 'ec-p256');
      const sig = await c.client.sign('wh', { message, hashAlgorithm: 'sha256' });
      assert.ok(verifySignature(info, { message, hashAlgorithm: 'sha256' }, sig));
      await new Promise((r) => setTimeout(r, 100));
      const signers = webhook.lines.filter((l) => l.event === 'sign').map((l) => l.pid);
      assert.deepEqual(signers, [webhook.pid]);
      assert.notEqual(webhook.pid, process.pid);
      assert.notEqual(webhook.pid, c.pid());

      // The webhook goes away: typed error through custody, ready() turns false.
      await webhook.stop();
      await assert.rejects(
        c.client.sign('wh', { message, hashAlgorithm: 'sha256' }),
        code('WEBHOOK_UNREACHABLE'),
      );
      assert.equal(c.client.ready(), false);
      assert.equal((await c.client.refreshHealth()).lastErrorCode, 'WEBHOOK_UNREACHABLE');
    } finally {
      await webhook.stop();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  it('the child gets its settings over IPC: its command line holds no path, URL or token', async () => {
    const token = 'inline-token-4f1c9b';
    const { pki, webhook } = await webhookRequiring(token);
    try {
      const c = await custody({
        kind: 'webhook',
        webhookURL: webhook.url,
        authType: 'bearer',
        token,
        caCertPath: pki.caCertPath,
        timeout: '5s',
      });
      // The webhook accepted the inline token (it refuses any other).
      await c.client.create('inline', 'ec-p256');
      const pid = c.pid();
      assert.ok(pid !== undefined);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      assert.equal(cmdline.length, 2, JSON.stringify(cmdline));
      assert.match(cmdline[1] ?? '', /custody\/main\.js$/);
      const joined = cmdline.join(' ');
      for (const secretish of [token, webhook.url, pki.caCertPath, pki.dir, root, 'https://', 'webhook']) {
        assert.ok(!joined.includes(secretish), `${secretish} on the command line: ${joined}`);
      }
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      assert.ok(!environ.includes(token) && !environ.includes(webhook.url), 'nor in its environment');
    } finally {
      await webhook.stop();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  it('a child started by hand (no supervisor, arguments) refuses to run', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'main.js'), '--socket', join(root, 'x.sock')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(exitCode, 1);
    assert.match(output, /CONFIG_INVALID/);
  });
});

// A registry process started while PostgreSQL does not answer (a TCP proxy in front of the real
// server, closed at first) waits for it with back-off and says so, instead of exiting into a
// crash loop; once the database answers it starts and becomes ready. SIGTERM while it waits
// stops it at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  exitCodeOf,
  freePort,
  repoRoot,
  testNatsEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

let db: TestDatabase;
let stream: TestStream;

/** A TCP proxy to the real PostgreSQL server on `port`, listening only once started. */
function postgresProxy(port: number): { start(): Promise<void>; stop(): Promise<void> } {
  const target = new URL(db.url);
  let server: Server | undefined;
  return {
    start: () =>
      new Promise((resolve) => {
        server = createServer((socket) => {
          const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
          socket.pipe(upstream).pipe(socket);
          socket.on('error', () => upstream.destroy());
          upstream.on('error', () => socket.destroy());
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    stop: () => new Promise((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))),
  };
}

/** Waits until the process has said it waits for its dependencies (module loading takes a while). */
async function waiting(registry: { child: ChildProcess; output: () => string }): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!/waiting for dependencies/.test(registry.output())) {
    assert.equal(registry.child.exitCode, null, `the registry exited instead of waiting:\n${registry.output()}`);
    assert.ok(Date.now() < deadline, `never said it waits:\n${registry.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function spawnRegistry(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [join(repoRoot(), 'services', 'registry', 'dist', 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

before(async () => {
  db = await createTestDatabase('startup');
  stream = testStreamSettings('startup');
});

after(async () => {
  const nc = await connectTestNats();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('started while PostgreSQL does not answer: waits with back-off, then starts and is ready once it answers', async () => {
  const proxyPort = await freePort();
  const proxy = postgresProxy(proxyPort);
  const url = new URL(db.url);
  url.host = `127.0.0.1:${proxyPort}`;
  const port = await freePort();
  const registry = spawnRegistry({
    ...testNatsEnv(),
    DATABASE_URL: url.toString(),
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(port),
    TP_LOG_LEVEL: 'warn',
  });
  try {
    await waiting(registry);
    // Still waiting a while later, with back-off: no crash loop.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(registry.child.exitCode, null, `the registry exited instead of waiting:\n${registry.output()}`);
    assert.match(registry.output(), /waiting for dependencies: PostgreSQL: .*ECONNREFUSED/);
    await proxy.start();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      assert.equal(registry.child.exitCode, null, registry.output());
      assert.ok(Date.now() < deadline, `not ready 30 s after PostgreSQL answered:\n${registry.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    registry.child.kill('SIGTERM');
    assert.equal(await exitCodeOf(registry.child, 10_000), 0);
  } finally {
    if (registry.child.exitCode === null) registry.child.kill('SIGKILL');
    await proxy.stop();
  }
});

test('SIGTERM while waiting for the dependencies: exits 0 at once', async () => {
  const url = new URL(db.url);
  url.host = `127.0.0.1:${await freePort()}`;
  const registry = spawnRegistry({ ...testNatsEnv(), DATABASE_URL: url.toString(), TP_REGISTRY_PORT: String(await freePort()), TP_LOG_LEVEL: 'warn' });
  await waiting(registry);
  registry.child.kill('SIGTERM');
  assert.equal(await exitCodeOf(registry.child, 5_000), 0);
});

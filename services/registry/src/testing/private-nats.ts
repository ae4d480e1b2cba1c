// A nats-server of the test's own, with the project's auth configuration (infra/local), that the
// test may kill and start again: for outages the machine's shared NATS must never suffer.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '@trustplane/testkit';

/** A private nats-server with JetStream. */
export interface PrivateNats {
  /** NATS_URL, TP_NATS_USER and TP_NATS_PASSWORD of the services' user. */
  readonly env: Record<string, string>;
  /** SIGKILLs the server (its store survives). */
  kill(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  close(): Promise<void>;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Starts a private nats-server on a free port. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tp-private-nats-'));
  const password = randomBytes(16).toString('hex');
  const config = readFileSync(join(repoRoot(), 'infra/local/nats-auth.conf.tmpl'), 'utf8')
    .replace('{{PORT}}', String(port))
    .replace('{{STORE_DIR}}', join(dir, 'store'))
    .replace('{{SERVICE_PASSWORD}}', password)
    .replace('{{ADMIN_PASSWORD}}', randomBytes(16).toString('hex'));
  writeFileSync(join(dir, 'nats.conf'), config, { mode: 0o600 });
  let server: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
    await until(() => portOpen(port), `nats-server listens on ${port}`);
  };
  const kill = async (): Promise<void> => {
    const running = server;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
    await until(async () => !(await portOpen(port)), `port ${port} is closed`);
  };
  await start();
  return {
    env: { NATS_URL: `nats://127.0.0.1:${port}`, TP_NATS_USER: 'tp-service', TP_NATS_PASSWORD: password },
    kill,
    start,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

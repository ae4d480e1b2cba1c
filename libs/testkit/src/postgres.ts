// A private PostgreSQL cluster for fault-injection tests: initdb into a temporary directory,
// pg_ctl on a free port with trust authentication, so a test can stop it hard ("immediate":
// no shutdown checkpoint, every connection cut, crash recovery on the next start) and start it
// again on the same data directory and port. PostgreSQL refuses to run as root: under root the
// cluster runs as the `postgres` OS user (runuser). Where no server binaries are found (or no
// user to run them as), `startPrivatePostgres` throws PRIVATE_POSTGRES_UNAVAILABLE; callers fall
// back to a database on the shared server (createTestDatabase) and cut connections with
// pg_terminate_backend instead of stopping the server.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/** A PostgreSQL cluster started for one test run. */
export interface PrivatePostgres {
  /** Admin URL (superuser `postgres`, database `postgres`). */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The PostgreSQL version directory used (e.g. `/usr/lib/postgresql/15/bin`). */
  readonly binDir: string;
  /** Creates a database and returns its URL (as the superuser). */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m immediate`: the server dies without a checkpoint, connections are cut. */
  stopImmediate(): Promise<void>;
  /** Starts the server again on the same data directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Whether the server is running (as far as this handle knows). */
  readonly running: boolean;
  /** Stops the server (fast) and removes its data directory. */
  destroy(): Promise<void>;
}

/** Why a private cluster could not be started. */
export class PrivatePostgresUnavailable extends Error {
  readonly code = 'PRIVATE_POSTGRES_UNAVAILABLE';
}

/** The newest `/usr/lib/postgresql/<v>/bin` with initdb and pg_ctl (or `TP_PG_BIN_DIR`). */
export function postgresBinDir(): string | undefined {
  const explicit = process.env['TP_PG_BIN_DIR'];
  if (explicit !== undefined && existsSync(join(explicit, 'pg_ctl'))) return explicit;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** The OS user the server runs as: ourselves, or `postgres` when we are root. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  const me = userInfo();
  if (me.uid !== 0) return { name: me.username, uid: me.uid, gid: me.gid };
  const probe = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gidProbe = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (probe.status !== 0 || gidProbe.status !== 0) return undefined;
  return { name: 'postgres', uid: Number(probe.stdout.trim()), gid: Number(gidProbe.stdout.trim()) };
}

/** Runs a server binary as the server user, returning its exit status and output. */
function runAs(user: { name: string; uid: number }, command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const [file, argv] = userInfo().uid === 0 && user.uid !== 0 ? ['runuser', ['-u', user.name, '--', command, ...args]] : [command, args];
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', (error) => resolve({ code: -1, output: `${output}${error.message}` }));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Starts a fresh cluster on a free port (trust authentication, superuser `postgres`). */
export async function startPrivatePostgres(options: { maxConnections?: number } = {}): Promise<PrivatePostgres> {
  const binDir = postgresBinDir();
  if (binDir === undefined) throw new PrivatePostgresUnavailable('no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql');
  const user = serverUser();
  if (user === undefined) throw new PrivatePostgresUnavailable('running as root and there is no postgres OS user to run the server as');
  const dir = mkdtempSync(join(tmpdir(), 'tp-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  chownSync(dir, user.uid, user.gid);
  const port = await freePort();
  const init = await runAs(user, join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  if (init.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new PrivatePostgresUnavailable(`initdb failed: ${init.output}`);
  }
  // Listen on 127.0.0.1 only; the Unix socket lives in the private directory. fsync off: the
  // faults injected are process crashes, not power losses, and a commit's WAL is still written to
  // the kernel before the commit returns (synchronous_commit stays on: with it off, an immediate
  // stop loses acknowledged commits still in the server's WAL buffers).
  writeFileSync(
    join(dataDir, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      `max_connections = ${options.maxConnections ?? 200}`,
      `fsync = off`,
      `full_page_writes = off`,
      `shared_buffers = 32MB`,
      '',
    ].join('\n'),
  );
  chownSync(join(dataDir, 'postgresql.auto.conf'), user.uid, user.gid);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running = false;

  const start = async (): Promise<void> => {
    const started = await runAs(user, join(binDir, 'pg_ctl'), ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
    if (started.code !== 0) throw new Error(`pg_ctl start failed: ${started.output}`);
    running = true;
    // pg_ctl -w returns when the postmaster accepts connections; make sure a query goes through.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: adminUrl });
      const ok = await client.connect().then(
        async () => (await client.query('SELECT 1'), await client.end(), true),
        async () => (await client.end().catch(() => undefined), false),
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error('the private PostgreSQL server does not answer');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async (mode: 'immediate' | 'fast'): Promise<void> => {
    const stopped = await runAs(user, join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60']);
    running = false;
    if (stopped.code !== 0 && !/Is server running\?/.test(stopped.output)) throw new Error(`pg_ctl stop failed: ${stopped.output}`);
  };

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl,
    port,
    dataDir,
    binDir,
    get running() {
      return running;
    },
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    stopImmediate: () => stop('immediate'),
    start,
    async destroy() {
      if (running) await stop('fast').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

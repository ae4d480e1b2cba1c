// NATS for tests: the shared test server of the local stack (infra/local/stack.sh, which runs it
// with the project's bus users and the subject prefix and stream name as wildcards, so that each
// test file can use its own), and private servers for tests of the permissions themselves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUS_USERS, credentialsEnvPrefix, inboxPrefixFor, type BusUserName } from '@trustplane/bus';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';

/** Where the local stack's NATS server listens. */
export const TEST_NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** A NATS user name and password. */
export interface NatsCredentials {
  readonly user: string;
  readonly password: string;
}

/** Who connects: a bus user, explicit credentials, or nobody (an anonymous connection). */
export type NatsIdentity = BusUserName | NatsCredentials | 'anonymous';

/** A bus user's credentials on the shared test server (from the local stack's settings). */
export function testNatsCredentials(name: BusUserName): NatsCredentials {
  const prefix = credentialsEnvPrefix(name);
  const password = process.env[`${prefix}_PASSWORD`];
  if (password === undefined) {
    throw new Error(
      `${prefix}_PASSWORD is not set: run the tests through npm test, or source .local/stack.env (infra/local/stack.sh ensure)`,
    );
  }
  return { user: process.env[`${prefix}_USER`] ?? BUS_USERS[name].user, password };
}

function serversOf(url: string): string[] {
  return url.split(',').map((server) => server.replace(/^nats:\/\//, ''));
}

/** Connects to `url` as `identity`, with the user's private inbox prefix. */
export async function connectNatsAs(
  url: string,
  identity: NatsCredentials | 'anonymous',
  name = 'trustplane-test',
): Promise<NatsConnection> {
  return connect({
    servers: serversOf(url),
    name,
    ...(identity === 'anonymous'
      ? {}
      : {
          user: identity.user,
          pass: identity.password,
          inboxPrefix: inboxPrefixFor(identity.user),
        }),
  });
}

/** Connects to the shared test server as a bus user (or with explicit credentials, or none). */
export async function connectTestNatsAs(identity: NatsIdentity): Promise<NatsConnection> {
  return connectNatsAs(
    TEST_NATS_URL,
    typeof identity === 'string' && identity !== 'anonymous'
      ? testNatsCredentials(identity)
      : identity,
  );
}

/** Connects to the shared test server as the admin (tests set up and clean up streams with it). */
export async function connectTestNats(): Promise<NatsConnection> {
  return connectTestNatsAs('admin');
}

/**
 * The NATS settings of a service under test: the shared server and the service's own user.
 * Without an argument, the registry's (also what host-local `tpctl org/token create` use).
 */
export function testNatsEnv(service: BusUserName = 'registry'): Record<string, string> {
  const credentials = testNatsCredentials(service);
  return {
    NATS_URL: TEST_NATS_URL,
    TP_NATS_USER: credentials.user,
    TP_NATS_PASSWORD: credentials.password,
  };
}

/** A nats-server started for one test file. */
export interface PrivateNats {
  readonly url: string;
  /** Every bus user's credentials (empty for an anonymous server). */
  readonly credentials: Readonly<Partial<Record<BusUserName, NatsCredentials>>>;
  /** Connects as a bus user, explicit credentials or anonymously. */
  connect(identity: NatsIdentity): Promise<NatsConnection>;
  /** NATS_URL, TP_NATS_USER and TP_NATS_PASSWORD of a bus user on this server. */
  envFor(service: BusUserName): Record<string, string>;
  /** SIGKILLs the server; its store and port are kept for `restart`. */
  kill(): Promise<void>;
  /** Starts the server again (after `kill`, or kills it first) on the same port and store. */
  restart(): Promise<void>;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
}

/** How a private server is configured. */
export interface PrivateNatsOptions {
  /** The event log the permissions are rendered for; `*` (any) when absent. */
  readonly scope?: { readonly prefix?: string; readonly stream?: string };
  /** No authorization at all (to test what services do against such a server). */
  readonly anonymous?: boolean;
  /** JetStream `max_file_store` of the server (to test a full store); the server's default when absent. */
  readonly maxFileStoreBytes?: number;
}

function renderConfig(dir: string, port: number, options: PrivateNatsOptions): string {
  const config = join(dir, 'nats.conf');
  const store = join(dir, 'store');
  if (options.anonymous === true) {
    writeFileSync(
      config,
      `listen: "127.0.0.1:${port}"\njetstream {\n  store_dir: ${JSON.stringify(store)}\n}\n`,
    );
    return config;
  }
  // The same script the local stack renders its server with.
  const script = join(repoRoot(), 'tools', 'nats-conf.mjs');
  const credentials = join(dir, 'credentials.env');
  const run = (args: string[]): void => {
    const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`nats-conf ${args[0]} failed: ${result.stderr}`);
  };
  run(['credentials', credentials]);
  const scope = options.scope ?? {};
  run([
    'render',
    ...['--port', String(port), '--store', store, '--credentials', credentials, '--out', config],
    ...(scope.prefix === undefined ? [] : ['--prefix', scope.prefix]),
    ...(scope.stream === undefined ? [] : ['--stream', scope.stream]),
  ]);
  if (options.maxFileStoreBytes !== undefined) {
    const text = readFileSync(config, 'utf8');
    const limited = text.replace(/(store_dir: [^\n]*\n)/, `$1  max_file_store: ${Math.floor(options.maxFileStoreBytes)}\n`);
    if (limited === text) throw new Error('nats-conf rendered no store_dir to limit');
    writeFileSync(config, limited, { mode: 0o600 });
  }
  return config;
}

function credentialsFrom(
  dir: string,
  anonymous: boolean,
): Partial<Record<BusUserName, NatsCredentials>> {
  if (anonymous) return {};
  const lines = readFileSync(join(dir, 'credentials.env'), 'utf8').split('\n');
  const values = new Map(lines.map((line) => line.split('=', 2) as [string, string]));
  const credentials: Partial<Record<BusUserName, NatsCredentials>> = {};
  for (const name of Object.keys(BUS_USERS) as BusUserName[]) {
    const prefix = credentialsEnvPrefix(name);
    credentials[name] = {
      user: values.get(`${prefix}_USER`) ?? '',
      password: values.get(`${prefix}_PASSWORD`) ?? '',
    };
  }
  return credentials;
}

async function waitForServer(
  server: ChildProcess,
  url: string,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (server.exitCode !== null)
      throw new Error(`nats-server exited with ${server.exitCode}: ${output()}`);
    const reachable = await connectNatsAs(url, 'anonymous').then(
      async (nc) => (await nc.close(), true),
      (error: unknown) => error instanceof Error && /authorization/i.test(error.message),
    );
    if (reachable) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not start: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a nats-server with JetStream on a free port, with the project's bus users unless anonymous. */
export async function startPrivateNats(options: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-nats-'));
  const port = await freePort();
  const config = renderConfig(dir, port, options);
  const url = `nats://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server = child;
    await waitForServer(child, url, () => output);
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const running = server;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };
  await launch();
  const credentials = credentialsFrom(dir, options.anonymous === true);
  const credentialsOf = (name: BusUserName): NatsCredentials => {
    const found = credentials[name];
    if (found === undefined) throw new Error(`the anonymous server has no user ${name}`);
    return found;
  };
  return {
    url,
    credentials,
    connect: (identity) =>
      connectNatsAs(
        url,
        typeof identity === 'string' && identity !== 'anonymous'
          ? credentialsOf(identity)
          : identity,
      ),
    envFor(service) {
      const { user, password } = credentialsOf(service);
      return { NATS_URL: url, TP_NATS_USER: user, TP_NATS_PASSWORD: password };
    },
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGKILL');
      await launch();
    },
    async stop() {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

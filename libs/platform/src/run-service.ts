import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { ConfigError } from './config.js';

/** Settings of the dependencies a service waits for at start (those its config has). */
interface Dependencies {
  readonly databaseUrl?: string;
  readonly natsUrl?: string;
  readonly startupWaitSeconds?: number;
}

async function postgresAnswers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function natsListens(urls: string): Promise<void> {
  const errors: unknown[] = [];
  for (const server of urls.split(',')) {
    const { hostname, port } = new URL(server.includes('://') ? server : `nats://${server}`);
    const reached = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: hostname, port: Number(port || 4222), timeout: 2_000 });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('timeout', () => (socket.destroy(), resolve(false)));
      socket.once('error', (error) => (errors.push(error), resolve(false)));
    });
    if (reached) return;
  }
  throw new Error(`no NATS server listens at ${urls}`, { cause: errors[0] });
}

/**
 * Waits, with back-off, until PostgreSQL answers and a NATS server listens (a service started
 * while a dependency restarts should come up with it, not crash-loop). Gives up after
 * `startupWaitSeconds` by throwing the last failure.
 */
export async function waitForDependencies(name: string, config: Dependencies, stop: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + (config.startupWaitSeconds ?? 120) * 1000;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    const failures: string[] = [];
    if (config.databaseUrl !== undefined) await postgresAnswers(config.databaseUrl).catch((e: unknown) => failures.push(`PostgreSQL: ${e instanceof Error ? e.message : String(e)}`));
    if (config.natsUrl !== undefined) await natsListens(config.natsUrl).catch((e: unknown) => failures.push(`NATS: ${e instanceof Error ? e.message : String(e)}`));
    if (failures.length === 0) return;
    if (stop() || Date.now() + delay > deadline) throw new Error(`dependencies did not answer: ${failures.join('; ')}`);
    process.stderr.write(`${JSON.stringify({ level: 40, time: new Date().toISOString(), service: name, attempt, retryInMs: delay, msg: `waiting for dependencies: ${failures.join('; ')}` })}\n`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5_000);
  }
}

/** What a service's start function returns. */
export interface StartedService {
  readonly logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  close(): Promise<void>;
}

/**
 * The body of every service's main.ts: load the config (a bad key exits 78, EX_CONFIG, naming
 * it), start, and on SIGTERM/SIGINT close gracefully (drain consumers, close connections) and
 * exit 0 — or 1 when shutting down failed.
 */
export function runService<Config>(
  name: string,
  loadConfig: () => Config,
  start: (config: Config) => Promise<StartedService>,
  options: { readonly waitFor?: readonly ('postgres' | 'nats')[] } = {},
): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // SIGTERM while waiting for the dependencies: stop waiting, exit 0.
  let stopping = false;
  const stopWaiting = (): void => {
    stopping = true;
    process.exit(0);
  };
  process.once('SIGTERM', stopWaiting);
  process.once('SIGINT', stopWaiting);
  // A service that keeps no tables (the publisher) does not wait for a database it never opens.
  const waitFor = new Set(options.waitFor ?? ['postgres', 'nats']);
  const { databaseUrl, natsUrl, startupWaitSeconds } = config as Dependencies;
  const dependencies: Dependencies = {
    ...(waitFor.has('postgres') && databaseUrl !== undefined ? { databaseUrl } : {}),
    ...(waitFor.has('nats') && natsUrl !== undefined ? { natsUrl } : {}),
    ...(startupWaitSeconds === undefined ? {} : { startupWaitSeconds }),
  };
  waitForDependencies(name, dependencies, () => stopping)
    .then(() => {
      process.off('SIGTERM', stopWaiting);
      process.off('SIGINT', stopWaiting);
      return start(config);
    })
    .then(
    (server) => {
      const shutdown = (signal: string): void => {
        server.logger.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            server.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    },
    (error: unknown) => {
      process.stderr.write(`${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

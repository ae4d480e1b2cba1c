/**
 * Supervisor of the key custody child process: prepares the private socket directory, spawns
 * `node dist/custody/main.js`, connects a CustodyClient once the child is listening, and
 * restarts the child with exponential backoff whenever it dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { KeyManagerError, isKeyManagerErrorCode } from '../errors.js';
import { parseKeyManagerConfig, type KeyManagerConfig } from '../config.js';
import { parseGoDuration } from '../duration.js';
import { systemClock, type Clock } from '../types.js';
import { CustodyClient } from './client.js';
import type { CustodyChildMessage, CustodyStartMessage } from './main.js';

/** Options of startKeyCustody. */
export interface KeyCustodyOptions {
  /** Directory for the custody socket; created (or tightened) to mode 0700, owned by us. */
  readonly socketDir: string;
  /** The KeyManager the child builds. */
  readonly keyManager: KeyManagerConfig;
  /** Per-call deadline (ms). Default 10 s, or the webhook timeout + 5 s if longer. */
  readonly callTimeoutMs?: number;
  /** First restart delay (ms), doubled per consecutive failure. Default 100. */
  readonly restartInitialDelayMs?: number;
  /** Largest restart delay (ms). Default 5000. */
  readonly restartMaxDelayMs?: number;
  /** How long a child may take to report ready (ms). Default 15 000. */
  readonly startTimeoutMs?: number;
  /** Structured log sink (child stderr lines are forwarded as {event:'child_log', line}). */
  readonly log?: (event: Record<string, unknown>) => void;
  /** Injected clock. */
  readonly clock?: Clock;
}

/** State of the custody child as seen by the supervisor. */
export type KeyCustodyState = 'starting' | 'ready' | 'restarting' | 'stopped';

/** A running key custody: the client to use and the supervisor's controls. */
export interface KeyCustody {
  /** The KeyManager to use in the parent. */
  readonly client: CustodyClient;
  /** Path of the custody socket. */
  readonly socketPath: string;
  /** Current state. */
  state(): KeyCustodyState;
  /** Pid of the current child, if one is running. */
  pid(): number | undefined;
  /** How many times the child has been restarted. */
  restarts(): number;
  /** Resolves once the child is up and the client connected (CUSTODY_UNAVAILABLE after timeoutMs). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Switches the KeyManager section at runtime; later restarts use it too. */
  reconfigure(config: KeyManagerConfig): Promise<void>;
  /** Stops the child and closes the client. */
  stop(): Promise<void>;
}

const SOCKET_NAME = 'custody.sock';
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
/** A child that stayed up this long resets the backoff. */
const STABLE_AFTER_MS = 10_000;

async function prepareSocketDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (!st.isDirectory())
    throw new KeyManagerError('CONFIG_INVALID', `socketDir ${dir} is not a directory`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new KeyManagerError(
      'CONFIG_INVALID',
      `socketDir ${dir} is owned by uid ${st.uid}, not ${uid}`,
    );
  }
  if ((st.mode & 0o777) !== 0o700) await fs.chmod(dir, 0o700);
}

function defaultCallTimeout(config: KeyManagerConfig): number {
  if (config.kind !== 'webhook') return 10_000;
  let webhookMs = 30_000;
  try {
    webhookMs = parseGoDuration(config.timeout ?? '30s');
  } catch {
    // A config not built by parseKeyManagerConfig: the child refuses it with a clear error.
  }
  return Math.max(10_000, webhookMs + 5_000);
}

/**
 * Starts the key custody child and resolves once it serves requests. If the first child fails
 * to start, rejects with its typed error (e.g. SEAL_INVALID, KEK_INVALID, CONFIG_INVALID).
 */
export async function startKeyCustody(options: KeyCustodyOptions): Promise<KeyCustody> {
  const supervisor = new Supervisor(options);
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  return supervisor;
}

class Supervisor implements KeyCustody {
  readonly client: CustodyClient;
  readonly socketPath: string;
  readonly #socketDir: string;
  readonly #log: (event: Record<string, unknown>) => void;
  readonly #clock: Clock;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #startTimeout: number;
  #config: KeyManagerConfig;
  #child: ChildProcess | undefined;
  #state: KeyCustodyState = 'starting';
  #restarts = 0;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #waiters: Array<() => void> = [];

  constructor(options: KeyCustodyOptions) {
    this.#config = parseKeyManagerConfig(options.keyManager);
    this.#socketDir = resolve(options.socketDir);
    this.socketPath = join(this.#socketDir, SOCKET_NAME);
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH) {
      throw new KeyManagerError(
        'CONFIG_INVALID',
        `socketDir: socket path ${this.socketPath} is longer than ${MAX_SOCKET_PATH} bytes`,
      );
    }
    this.#log = options.log ?? (() => undefined);
    this.#clock = options.clock ?? systemClock;
    this.#initialDelay = options.restartInitialDelayMs ?? 100;
    this.#maxDelay = options.restartMaxDelayMs ?? 5_000;
    this.#startTimeout = options.startTimeoutMs ?? 15_000;
    this.client = new CustodyClient({
      callTimeoutMs: options.callTimeoutMs ?? defaultCallTimeout(this.#config),
      clock: this.#clock,
    });
  }

  async start(): Promise<void> {
    await prepareSocketDir(this.#socketDir);
    await this.#spawnOnce();
  }

  state(): KeyCustodyState {
    return this.#state;
  }

  pid(): number | undefined {
    return this.#child?.pid;
  }

  restarts(): number {
    return this.#restarts;
  }

  waitReady(timeoutMs = 15_000): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'stopped')
      return Promise.reject(new KeyManagerError('CLOSED', 'key custody stopped'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(
          new KeyManagerError('CUSTODY_UNAVAILABLE', `key custody not ready within ${timeoutMs}ms`),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  async reconfigure(config: KeyManagerConfig): Promise<void> {
    const parsed = parseKeyManagerConfig(config);
    await this.client.reconfigure(parsed);
    this.#config = parsed;
    this.#log({ event: 'custody_reconfigured', kind: parsed.kind });
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    await this.client.close();
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    this.#child = undefined;
  }

  /** Spawns one child and waits for it to serve; rejects with the child's typed error. */
  async #spawnOnce(): Promise<void> {
    const startedAt = this.#clock.now();
    // No settings on the command line (readable by every user of the host): they go over the
    // private IPC channel as the child's first message.
    const child = spawn(process.execPath, [join(__dirname, 'main.js')], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: childEnv(),
    });
    this.#child = child;
    forwardLines(child, (line) => this.#log({ event: 'child_log', pid: child.pid, line }));
    const start: CustodyStartMessage = {
      type: 'start',
      socketPath: this.socketPath,
      config: this.#config,
    };
    child.send(start, (error) => {
      if (error !== null && error !== undefined) child.kill('SIGKILL');
    });

    const outcome = await new Promise<{ ok: true } | { ok: false; error: KeyManagerError }>(
      (resolveOutcome) => {
        const timer = setTimeout(() => {
          resolveOutcome({
            ok: false,
            error: new KeyManagerError(
              'CUSTODY_UNAVAILABLE',
              `key custody child did not start within ${this.#startTimeout}ms`,
            ),
          });
          child.kill('SIGKILL');
        }, this.#startTimeout);
        child.on('message', (raw: CustodyChildMessage) => {
          if (raw.type === 'ready') {
            clearTimeout(timer);
            resolveOutcome({ ok: true });
          } else if (raw.type === 'fatal') {
            clearTimeout(timer);
            const code = isKeyManagerErrorCode(raw.code) ? raw.code : 'CUSTODY_UNAVAILABLE';
            resolveOutcome({
              ok: false,
              error: new KeyManagerError(code, `key custody failed to start: ${raw.message}`),
            });
          }
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolveOutcome({
            ok: false,
            error: new KeyManagerError(
              'CUSTODY_UNAVAILABLE',
              `key custody child exited during start (${signal ?? code})`,
            ),
          });
        });
        child.once('error', (cause) => {
          clearTimeout(timer);
          resolveOutcome({
            ok: false,
            error: new KeyManagerError('CUSTODY_UNAVAILABLE', 'cannot spawn key custody', {
              cause,
            }),
          });
        });
      },
    );

    child.once('exit', (code, signal) => this.#onExit(child, startedAt, code, signal));
    if (!outcome.ok) {
      if (this.#child === child) this.#child = undefined;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw outcome.error;
    }
    if (this.#state === 'stopped') return;
    await this.client.connect(this.socketPath);
    this.#state = 'ready';
    this.#log({ event: 'custody_ready', pid: child.pid, restarts: this.#restarts });
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #onExit(
    child: ChildProcess,
    startedAt: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.client.disconnect(`key custody child exited (${signal ?? String(code)})`);
    if (this.#state === 'stopped') return;
    this.#log({ event: 'custody_exited', pid: child.pid, code, signal });
    this.#failures = this.#clock.now() - startedAt >= STABLE_AFTER_MS ? 0 : this.#failures + 1;
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#state === 'stopped' || this.#restartTimer !== undefined) return;
    this.#state = 'restarting';
    const delay = Math.min(
      this.#maxDelay,
      this.#initialDelay * 2 ** Math.max(0, this.#failures - 1),
    );
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state === 'stopped') return;
      this.#restarts++;
      this.#spawnOnce().catch((err: unknown) => {
        this.#log({
          event: 'custody_restart_failed',
          error: err instanceof Error ? err.message : String(err),
        });
        if (this.#child === undefined) {
          this.#failures++;
          this.#scheduleRestart();
        }
      });
    }, delay);
    this.#restartTimer.unref();
  }
}

/**
 * The child gets a minimal environment: it needs no credentials of the parent (database URLs,
 * tokens), only what Node and TLS need to run.
 */
function childEnv(): NodeJS.ProcessEnv {
  const keep = [
    'PATH',
    'HOME',
    'TZ',
    'LANG',
    'LC_ALL',
    'NODE_ENV',
    'NODE_EXTRA_CA_CERTS',
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
  ];
  const env: NodeJS.ProcessEnv = {};
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

function forwardLines(child: ChildProcess, sink: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') sink(line);
    });
  }
}

// Starting the real services as child processes for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BUS_USERS, type BusUserName } from '@trustplane/bus';
import { TEST_NATS_URL, testNatsCredentials } from './nats.js';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';

export { freePort };

/** A service running as a child process. */
export interface RunningService {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the service wrote to stdout/stderr so far. */
  output(): string;
  stop(): Promise<number | null>;
}

/** A node child process with its combined output captured. */
interface CapturedProcess {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/** Spawns `script` with a minimal environment plus `env`, capturing stdout and stderr. */
function spawnCaptured(script: string, env: Record<string, string>): CapturedProcess {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

/** Polls `<baseUrl>/readyz` until it answers ok; fails early when the process exits. */
async function waitReady(started: CapturedProcess, name: string, baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`${name} exited with ${started.child.exitCode}:\n${started.output()}`);
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * On the shared test server every service connects as its own bus user, whatever user the
 * environment it was given names (tests commonly hand the registry and the signer one env).
 */
function ownNatsUser(name: string, env: Record<string, string>): Record<string, string> {
  const isService = (candidate: string): candidate is BusUserName =>
    Object.hasOwn(BUS_USERS, candidate) && BUS_USERS[candidate as BusUserName].role === 'service';
  if ((env['NATS_URL'] ?? TEST_NATS_URL) !== TEST_NATS_URL || !isService(name)) return {};
  const { user, password } = testNatsCredentials(name);
  return { TP_NATS_USER: user, TP_NATS_PASSWORD: password };
}

/** Starts `services/<name>/dist/main.js` and waits for /readyz (30 s unless `timeoutMs` says otherwise). */
export async function startServiceProcess(name: string, env: Record<string, string>, port: number, timeoutMs = 30_000): Promise<RunningService> {
  // Signers started by tests listen for agents on any free port unless a test asks for one.
  const defaults: Record<string, string> = name === 'signer' ? { TP_SIGNER_AGENT_PORT: '0', TP_SIGNER_AGENT_HOST: '127.0.0.1' } : {};
  const started = spawnCaptured(join(repoRoot(), 'services', name, 'dist', 'main.js'), { ...defaults, ...env, ...ownNatsUser(name, env) });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(started, name, url, timeoutMs);
  return { url, process: started.child, output: started.output, stop: started.stop };
}

/** Result of a CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The `tpctl` command as npm links it for the repo (README: `node_modules/.bin/tpctl`). */
export function tpctlBin(): string {
  return join(repoRoot(), 'node_modules', '.bin', 'tpctl');
}

/** Runs the built tpctl through its installed command (shebang, bin link) with arguments and environment. */
export async function tpctl(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(tpctlBin(), args, {
    env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent-home', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** A node agent running as a child process. */
export interface RunningAgent {
  readonly process: ChildProcess;
  readonly healthUrl: string;
  readonly socketPath: string;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts `services/agent/dist/main.js`. With `waitReady` (default) resolves once /readyz says
 * ok; otherwise once the process has started (for agents expected to be refused).
 */
export async function startAgentProcess(
  env: Record<string, string>,
  options: { healthPort: number; socketPath: string; waitReady?: boolean; timeoutMs?: number },
): Promise<RunningAgent> {
  const started = spawnCaptured(join(repoRoot(), 'services', 'agent', 'dist', 'main.js'), {
    TP_AGENT_HEALTH_HOST: '127.0.0.1',
    TP_AGENT_HEALTH_PORT: String(options.healthPort),
    TP_AGENT_SOCKET_PATH: options.socketPath,
    ...env,
  });
  const healthUrl = `http://127.0.0.1:${options.healthPort}`;
  if (options.waitReady ?? true) await waitReady(started, 'agent', healthUrl, options.timeoutMs ?? 30_000);
  return {
    process: started.child,
    healthUrl,
    socketPath: options.socketPath,
    output: started.output,
    stop: started.stop,
  };
}

/** Waits for a child process to exit (or `timeoutMs`), returning its exit code. */
export async function exitCodeOf(child: ChildProcess, timeoutMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('process did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

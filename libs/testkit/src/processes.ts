// Starting the real services as child processes for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** A service running as a child process. */
export interface RunningService {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the service wrote to stdout/stderr so far. */
  output(): string;
  stop(): Promise<number | null>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts `services/<name>/dist/main.js` and waits for /readyz. */
export async function startServiceProcess(name: string, env: Record<string, string>, port: number): Promise<RunningService> {
  // Signers started by tests listen for agents on any free port unless a test asks for one.
  const defaults: Record<string, string> = name === 'signer' ? { TP_SIGNER_AGENT_PORT: '0', TP_SIGNER_AGENT_HOST: '127.0.0.1' } : {};
  const child = spawn(process.execPath, [join(repoRoot(), 'services', name, 'dist', 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...defaults, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

/** Result of a CLI run. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built tpctl with arguments and environment. */
export async function tpctl(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot(), 'cli', 'tpctl', 'dist', 'main.js'), ...args], {
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
  const child = spawn(process.execPath, [join(repoRoot(), 'services', 'agent', 'dist', 'main.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      TP_AGENT_HEALTH_HOST: '127.0.0.1',
      TP_AGENT_HEALTH_PORT: String(options.healthPort),
      TP_AGENT_SOCKET_PATH: options.socketPath,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const healthUrl = `http://127.0.0.1:${options.healthPort}`;
  if (options.waitReady ?? true) {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${output}`);
      const ready = await fetch(`${healthUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`agent did not become ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    process: child,
    healthUrl,
    socketPath: options.socketPath,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
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

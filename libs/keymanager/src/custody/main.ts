/**
 * Entry point of the key custody child process (spawned by startKeyCustody): `node
 * dist/custody/main.js`, with no arguments. Its settings (socket path, KeyManager config with
 * paths, webhook URL, maybe a bearer token) arrive over the private IPC channel as the first
 * message, {type:'start', socketPath, config}: a command line is readable by every user of the
 * host (`ps`, /proc/<pid>/cmdline), the IPC channel only by the parent.
 * Builds the KeyManager (private keys exist only here or behind the webhook), serves it on the
 * Unix socket and reports to the parent over the IPC channel: {type:'ready', pid} or
 * {type:'fatal', code, message}. Exits when the parent goes away.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { KeyManagerError, isKeyManagerError } from '../errors.js';
import { openKeyManager, parseKeyManagerConfig } from '../config.js';
import { CustodyServer } from './server.js';

/** The first message of the supervisor to the child. */
export interface CustodyStartMessage {
  readonly type: 'start';
  readonly socketPath: string;
  readonly config: unknown;
}

/** How long the child waits for its start message. */
const START_MESSAGE_TIMEOUT_MS = 10_000;

/** Waits for the start message on the IPC channel. */
function startMessage(): Promise<CustodyStartMessage> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new KeyManagerError('CONFIG_INVALID', 'the key custody child must be started by its supervisor (IPC channel)'));
      return;
    }
    const timer = setTimeout(() => reject(new KeyManagerError('CONFIG_INVALID', 'no start message from the supervisor')), START_MESSAGE_TIMEOUT_MS);
    process.once('message', (raw: unknown) => {
      clearTimeout(timer);
      const message = raw as Partial<CustodyStartMessage> | null;
      if (message === null || typeof message !== 'object' || message.type !== 'start' || typeof message.socketPath !== 'string') {
        reject(new KeyManagerError('CONFIG_INVALID', 'the first IPC message must be {type:start, socketPath, config}'));
        return;
      }
      resolve({ type: 'start', socketPath: message.socketPath, config: message.config });
    });
  });
}

/** Messages from the child to its supervisor over the IPC channel. */
export type CustodyChildMessage =
  | { readonly type: 'ready'; readonly pid: number; readonly ready: boolean }
  | { readonly type: 'fatal'; readonly code: string; readonly message: string };

function log(event: Record<string, unknown>): void {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), component: 'key-custody', pid: process.pid, ...event })}\n`,
  );
}

function report(msg: CustodyChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function checkSocketDir(dir: string): Promise<void> {
  const st = await fs.lstat(dir);
  const uid = process.geteuid?.();
  if (!st.isDirectory())
    throw new KeyManagerError('CONFIG_INVALID', `socket directory ${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid) {
    throw new KeyManagerError(
      'CONFIG_INVALID',
      `socket directory ${dir} is owned by uid ${st.uid}, not ${uid}`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeyManagerError(
      'CONFIG_INVALID',
      `socket directory ${dir} has mode ${(st.mode & 0o777).toString(8)}, want 700`,
    );
  }
}

async function main(): Promise<void> {
  // Anything this process creates is private to its uid.
  process.umask(0o077);
  if (process.argv.length > 2) {
    throw new KeyManagerError('CONFIG_INVALID', 'the key custody child takes no arguments (settings come over IPC)');
  }
  const start = await startMessage();
  const socketPath = start.socketPath;
  const config = parseKeyManagerConfig(start.config);
  await checkSocketDir(dirname(socketPath));
  const keyManager = await openKeyManager(config);
  if (!keyManager.ready()) {
    const h = keyManager.health();
    log({
      event: 'key_manager_not_ready',
      kind: config.kind,
      code: h.lastErrorCode,
      error: h.lastErrorMessage,
    });
  }
  const server = await CustodyServer.listen({ socketPath, keyManager, log });
  log({ event: 'listening', kind: config.kind });

  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log({ event: 'stopping', reason });
    server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The parent holds the IPC channel; when it dies, so do we.
  process.on('disconnect', () => stop('parent disconnected'));
  await report({ type: 'ready', pid: process.pid, ready: keyManager.ready() });
}

main().catch(async (err: unknown) => {
  const code = isKeyManagerError(err) ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  log({ event: 'fatal', code, error: message });
  await report({ type: 'fatal', code, message });
  process.exit(1);
});

/**
 * Entry point of the key custody child process (spawned by startKeyCustody):
 *   node dist/custody/main.js --socket <dir>/custody.sock --config '<KeyManager config JSON>'
 * Builds the KeyManager (private keys exist only here or behind the webhook), serves it on the
 * Unix socket and reports to the parent over the IPC channel: {type:'ready', pid} or
 * {type:'fatal', code, message}. Exits when the parent goes away.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { KeyManagerError, isKeyManagerError } from '../errors.js';
import { openKeyManager, parseKeyManagerConfig } from '../config.js';
import { CustodyServer } from './server.js';

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
  const { values } = parseArgs({
    options: { socket: { type: 'string' }, config: { type: 'string' } },
    strict: true,
  });
  if (values.socket === undefined || values.config === undefined) {
    throw new KeyManagerError('CONFIG_INVALID', 'usage: main.js --socket <path> --config <json>');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(values.config);
  } catch (cause) {
    throw new KeyManagerError('CONFIG_INVALID', '--config is not JSON', { cause });
  }
  const config = parseKeyManagerConfig(raw);
  await checkSocketDir(dirname(values.socket));
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
  const server = await CustodyServer.listen({ socketPath: values.socket, keyManager, log });
  log({ event: 'listening', socket: values.socket, kind: config.kind });

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

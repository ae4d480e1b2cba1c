/**
 * CLI of the reference Key Manager Extension webhook:
 *   node libs/keymanager/dist/reference-webhook/main.js --port 8443 --cert cert.pem --key key.pem
 *     [--host 127.0.0.1] [--token-file token] [--key-dir dir --kek-path kek [--create-kek]]
 *     [--fault none|wrong-fingerprint|wrong-key|slow] [--fault-delay-ms N]
 * Prints {"event":"listening","pid":…,"port":…} once ready, then one JSON line per sign request.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DiskKeyManager } from '../disk.js';
import type { KeyManager } from '../types.js';
import { startReferenceWebhook, type ReferenceWebhookFault } from './server.js';

const FAULTS: readonly ReferenceWebhookFault[] = ['none', 'wrong-fingerprint', 'wrong-key', 'slow'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'token-file': { type: 'string' },
      'key-dir': { type: 'string' },
      'kek-path': { type: 'string' },
      'create-kek': { type: 'boolean', default: false },
      fault: { type: 'string', default: 'none' },
      'fault-delay-ms': { type: 'string', default: '1000' },
    },
    strict: true,
  });
  if (values.cert === undefined || values.key === undefined)
    throw new Error('--cert and --key are required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: invalid ${values.port}`);
  const fault = values.fault as ReferenceWebhookFault;
  if (!FAULTS.includes(fault)) throw new Error(`--fault: one of ${FAULTS.join(', ')}`);
  let keyManager: KeyManager | undefined;
  if (values['key-dir'] !== undefined) {
    if (values['kek-path'] === undefined) throw new Error('--key-dir needs --kek-path');
    keyManager = await DiskKeyManager.open({
      dir: values['key-dir'],
      kekPath: values['kek-path'],
      createKek: values['create-kek'],
    });
  }
  const server = await startReferenceWebhook({
    host: values.host,
    port,
    cert: readFileSync(values.cert),
    key: readFileSync(values.key),
    tokenFile: values['token-file'],
    keyManager,
    fault,
    faultDelayMs: Number(values['fault-delay-ms']),
  });
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', pid: process.pid, port: server.port })}\n`,
  );
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`reference-webhook: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

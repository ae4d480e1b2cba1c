/**
 * Test helpers (not exported from the package index): a throwaway TLS PKI made with the openssl
 * CLI, and the reference webhook run as a separate process whose log lines are captured.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of a self-signed CA and a server certificate for 127.0.0.1/localhost issued by it. */
export interface TestPki {
  readonly dir: string;
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

/** Creates a CA (`openssl req -x509`) and a server cert with SANs IP:127.0.0.1, DNS:localhost. */
export function makeTestPki(name = 'tp-km-pki-'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), name));
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ossl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=trustplane test CA',
  );
  ossl('req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(
    p('ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  ossl(
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.pem'),
    '-days',
    '1',
    '-extfile',
    p('ext.cnf'),
  );
  return {
    dir,
    caCertPath: p('ca.pem'),
    serverCertPath: p('server.pem'),
    serverKeyPath: p('server.key'),
  };
}

/** A reference webhook running in its own process. */
export interface WebhookProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Every JSON line it printed so far (the listening line included). */
  readonly lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Path of the compiled reference webhook CLI. */
export const REFERENCE_WEBHOOK_MAIN = join(__dirname, '..', 'reference-webhook', 'main.js');

/** Spawns `node dist/reference-webhook/main.js` and waits for its listening line. */
export async function spawnReferenceWebhook(
  pki: TestPki,
  extraArgs: string[] = [],
): Promise<WebhookProcess> {
  const child = spawn(
    process.execPath,
    [
      REFERENCE_WEBHOOK_MAIN,
      '--port',
      '0',
      '--cert',
      pki.serverCertPath,
      '--key',
      pki.serverKeyPath,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const port = await new Promise<number>((resolve, reject) => {
    let rest = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        lines.push(obj);
        if (obj.event === 'listening') resolve(obj.port as number);
      }
    });
    child.once('exit', (code) => reject(new Error(`reference webhook exited ${code}: ${stderr}`)));
  });
  return {
    child,
    pid: child.pid as number,
    port,
    url: `https://127.0.0.1:${port}`,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passes. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Throughput helper for the bench (not a test): ECDSA P-256 signatures per second through the
 * key custody child (memory KeyManager, pipelined on one connection), next to the raw in-process
 * crypto.sign rate measured in the same run.
 */
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKeyCustody } from './supervisor.js';

/** Result of measureCustodySignRate. */
export interface CustodySignRate {
  /** crypto.sign('sha256', msg, P-256 key) per second, in this process. */
  readonly rawPerSecond: number;
  /** Message-form signatures per second through the custody socket. */
  readonly custodyPerSecond: number;
  /** custodyPerSecond / rawPerSecond. */
  readonly ratio: number;
  /** Requests kept in flight. */
  readonly window: number;
  /** Bytes per signed message (a TBSCertificate-sized buffer). */
  readonly messageBytes: number;
}

/**
 * Measures for `ms` milliseconds each: the raw in-process rate, then the custody rate with
 * `window` requests in flight (default 512).
 */
export async function measureCustodySignRate(
  ms: number,
  options: { window?: number } = {},
): Promise<CustodySignRate> {
  const window = options.window ?? 512;
  const messageBytes = 600;
  const message = randomBytes(messageBytes);

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let raw = 0;
  const rawStart = performance.now();
  while (performance.now() - rawStart < ms) {
    for (let i = 0; i < 64; i++)
      cryptoSign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
    raw += 64;
  }
  const rawPerSecond = (raw * 1000) / (performance.now() - rawStart);

  const dir = await mkdtemp(join(tmpdir(), 'tp-km-bench-'));
  const custody = await startKeyCustody({
    socketDir: join(dir, 'sock'),
    keyManager: { kind: 'memory' },
  });
  try {
    const km = custody.client;
    await km.create('bench-ec-p256', 'ec-p256');
    const request = { message, hashAlgorithm: 'sha256' as const };
    // Warm-up.
    await Promise.all(Array.from({ length: window }, () => km.sign('bench-ec-p256', request)));
    let done = 0;
    const start = performance.now();
    const deadline = start + ms;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        await km.sign('bench-ec-p256', request);
        done++;
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    const custodyPerSecond = (done * 1000) / (performance.now() - start);
    return {
      rawPerSecond,
      custodyPerSecond,
      ratio: custodyPerSecond / rawPerSecond,
      window,
      messageBytes,
    };
  } finally {
    await custody.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

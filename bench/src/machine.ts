// Facts about the machine a bench ran on, measured in the same run, and the result file every
// bench writes (bench/results/<name>.json) and prints as its last line.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { repoRoot } from '@trustplane/testkit';
import { round } from './stats.js';

/** Signs 420-byte messages with ECDSA P-256 for `seconds` on this thread; signatures per second. */
export function rawSignRateOneThread(seconds: number): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = randomBytes(420);
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) sign('sha256', message, privateKey);
    done += 50;
  }
  return done / ((performance.now() - started) / 1000);
}

// The same loop in a worker thread (plain JavaScript: workers do not load TypeScript output paths).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { generateKeyPairSync, randomBytes, sign } = require('node:crypto');
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const message = randomBytes(420);
let done = 0;
const started = performance.now();
const deadline = started + workerData.seconds * 1000;
while (performance.now() < deadline) {
  for (let i = 0; i < 50; i++) sign('sha256', message, privateKey);
  done += 50;
}
parentPort.postMessage({ done, ms: performance.now() - started });
`;

/** Total raw signatures per second of `threads` worker threads signing at once for `seconds`. */
export async function rawSignRateThreads(threads: number, seconds: number): Promise<number> {
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<{ done: number; ms: number }>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { seconds } });
          worker.once('message', (value: { done: number; ms: number }) => {
            resolve(value);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  return results.reduce((sum, r) => sum + r.done / (r.ms / 1000), 0);
}

/** What the figures of a run depend on: the CPU, its load and the runtime, plus its raw crypto rate. */
export interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  readonly node: string;
  readonly rawSignPerSOneThread: number;
  readonly rawSignPerSAllCores: number;
}

/** Load average now, rounded. */
export function loadNow(): number[] {
  return loadavg().map((v) => round(v, 2));
}

/** Measures the raw crypto rate (one thread, and one worker per core) and collects the machine facts. */
export async function machineFacts(
  loadAtStart: readonly number[],
  measured: { oneThread?: number; allCores?: number } = {},
  seconds = Number(process.env['TP_BENCH_RAW_SECONDS'] ?? 2),
): Promise<MachineFacts> {
  const cores = cpus().length;
  const one = measured.oneThread ?? rawSignRateOneThread(seconds);
  const all = measured.allCores ?? (await rawSignRateThreads(cores, seconds));
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadNow(),
    node: process.version,
    rawSignPerSOneThread: round(one, 0),
    rawSignPerSAllCores: round(all, 0),
  };
}

/** Where result files go: bench/results unless TP_BENCH_RESULTS_DIR says otherwise (the smoke test). */
export function resultsDir(): string {
  return process.env['TP_BENCH_RESULTS_DIR'] ?? join(repoRoot(), 'bench', 'results');
}

/**
 * Writes bench/results/<bench>.json (the figures, the machine facts and when) and prints the same
 * object as the last line of output.
 */
export function writeResult(bench: string, figures: Record<string, unknown>, machine: MachineFacts): void {
  const result = { bench, ...figures, measuredAt: new Date().toISOString(), machine };
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${bench}.json`), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

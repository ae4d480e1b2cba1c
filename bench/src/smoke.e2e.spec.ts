// Every bench entry point starts the real processes, runs with tiny sample counts and prints one
// well-formed JSON line last, the same object it writes as its result file. No timing assertions:
// the figures of such short runs mean nothing; this only proves each bench still runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { skipOrFailUnderCi } from '@trustplane/testkit';

const results = mkdtempSync(join(tmpdir(), 'tp-bench-smoke-'));
after(() => rmSync(results, { recursive: true, force: true }));

const TINY: Record<string, Record<string, string>> = {
  'workload-api': { TP_BENCH_STREAMS: '20', TP_BENCH_WORKLOADS: '20', TP_BENCH_HOLDER_UIDS: '2', TP_BENCH_SAMPLES: '40', TP_BENCH_NEW_CONNECTION_SAMPLES: '10', TP_BENCH_WARMUP: '5' },
  signer: { TP_BENCH_SECONDS: '0.3' },
  propagation: { TP_BENCH_AGENTS: '2', TP_BENCH_SAMPLES: '5', TP_BENCH_BACKGROUND_ENTRIES: '20' },
  eventlog: {
    TP_BENCH_REBUILD_EVENTS: '600',
    TP_BENCH_APPEND_PHASE: '50',
    TP_BENCH_APPEND_ROUNDS: '1',
    TP_BENCH_WARMUP: '20',
    TP_BENCH_LATENCY_SECONDS: '0.4',
    TP_BENCH_FAST_SECONDS: '0.1',
  },
  attestation: { TP_BENCH_AGENTS: '1' },
};

/** Runs bench/dist/<name>.js; resolves with its exit code and output. */
function runBench(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(__dirname, `${name}.js`)], {
    env: { ...process.env, ...TINY[name], TP_BENCH_RAW_SECONDS: '0.2', TP_BENCH_RESULTS_DIR: results },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('bench entry points (tiny sample counts)', { concurrency: true }, () => {
  for (const name of Object.keys(TINY)) {
    it(`${name} runs and ends with its result as one JSON line`, { timeout: 180_000 }, async (t) => {
      if (name === 'workload-api' && process.getuid?.() !== 0) return skipOrFailUnderCi(t, 'the workload-api bench starts workloads under other uids: needs root');
      const { code, stdout, stderr } = await runBench(name);
      assert.equal(code, 0, `${name} exited ${code}:\n${stderr}\n${stdout}`);
      const last = stdout.trimEnd().split('\n').pop() ?? '';
      const result = JSON.parse(last) as Record<string, unknown>;
      assert.equal(result['bench'], name);
      const machine = result['machine'] as Record<string, unknown>;
      assert.equal(typeof machine['rawSignPerSOneThread'], 'number');
      assert.equal(typeof machine['cores'], 'number');
      assert.ok(Array.isArray(machine['loadAverageAtStart']));
      for (const [key, value] of Object.entries(result)) {
        if (typeof value === 'number') assert.ok(Number.isFinite(value), `${name}.${key} is a finite number (${value})`);
      }
      assert.deepEqual(JSON.parse(readFileSync(join(results, `${name}.json`), 'utf8')), result, 'the result file holds the printed object');
      return undefined;
    });
  }
});

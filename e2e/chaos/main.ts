// `npm run chaos` (tools/chaos.sh): the long fault-injection run. Every scenario against one
// private stack under ~100 writes/s, a table per scenario on stdout, the full results as JSON.
//   node e2e/chaos/dist/main.js [--scenarios a,b] [--rate N] [--seconds S] [--out FILE]
import { writeFileSync } from 'node:fs';
import { activeStacks, FAULTS, renderTable, runChaos } from './lib/scenarios.js';
import { KNOWN_FAILURES } from './known-failures.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const scenarios = option('scenarios')?.split(',') ?? FAULTS.map((f) => f.name);
  const seconds = Number(option('seconds') ?? 45);
  const out = option('out') ?? 'chaos-results.json';
  const started = Date.now();
  const note = (line: string): void => {
    process.stderr.write(`[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  };
  const run = await runChaos({
    scenarios,
    rate: Number(option('rate') ?? 100),
    timing: { warmupMs: 10_000, scenarioMs: seconds * 1000, stopMs: 10_000, fullStoreMs: 10_000, restartDelayMs: 500, repeats: 20 },
    recoveryBoundSeconds: 3,
    maxFileStoreBytes: Number(option('max-store-mb') ?? 256) * 1048576,
    attemptTimeoutMs: 10_000,
    budgetMs: 90_000,
    settleTimeoutMs: 60_000,
    note,
    onResult: (results) => writeFileSync(out, `${JSON.stringify({ startedAt: new Date(started).toISOString(), partial: true, results }, null, 2)}\n`),
  });
  const known = KNOWN_FAILURES;
  process.stdout.write(`\n${renderTable(run.results, known)}\n\n`);
  let unexpected = 0;
  for (const result of run.results) {
    for (const [assertion, why] of Object.entries(result.failures)) {
      const finding = known[`${result.scenario}:${assertion}`];
      if (finding === undefined) unexpected++;
      process.stdout.write(`${finding === undefined ? 'FAIL' : 'KNOWN FAILURE'} ${result.scenario} ${assertion}: ${why}${finding === undefined ? '' : `\n    (${finding})`}\n`);
    }
  }
  for (const [service, stop] of Object.entries(run.shutdown)) {
    const ok = stop.code === 0 && stop.ms <= 10_000;
    const finding = known[`shutdown:${service}`];
    if (!ok && finding === undefined) unexpected++;
    const verdict = ok ? 'ok' : finding === undefined ? 'FAIL' : 'KNOWN FAILURE';
    process.stdout.write(`${verdict} ${service} shut down on SIGTERM with code ${stop.code} in ${stop.ms} ms (bound 10 s)${ok || finding === undefined ? '' : `\n    (${finding})`}\n`);
    if (stop.outputTail !== undefined) process.stdout.write(`    last output of the ${service}:\n${stop.outputTail.replace(/^/gm, '      ')}\n`);
  }
  writeFileSync(out, `${JSON.stringify({ startedAt: new Date(started).toISOString(), database: run.db, results: run.results, shutdown: run.shutdown, knownFailures: known }, null, 2)}\n`);
  process.stdout.write(`results: ${out}\n`);
  process.exitCode = unexpected === 0 ? 0 : 1;
}

// Interrupted: stop the servers and processes the run started (PostgreSQL is a daemon).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}, tearing the stack down\n`);
    void Promise.all([...activeStacks].map((stack) => stack.destroy())).finally(() => process.exit(130));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

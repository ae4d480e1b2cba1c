// npm run bench -- workload-api
// The real agent process (services/agent/dist/main.js), attested with a join token to a real
// signer, holding 1,000 registration entries from the real registry (one per workload uid,
// `unix:uid:<uid>` selectors), serving 1,000 open FetchX509SVID streams held by workload
// processes running under 10 different uids. The measuring workload is another process under its
// own uid. Reported separately: the first message of FetchX509SVID on a NEW connection (where the
// kernel peer credentials are read and the caller attested) and of a new stream on an EXISTING
// connection; cached FetchJWTSVID; the agent process's RSS.
// Baseline in the same run, same parallelism (the same holders and measuring client): a bare
// grpc-js server in its own process on its own Unix socket, answering with the very bytes the
// agent sent this workload, doing no attestation, matching or caching.
// Needs root (it starts workloads under other uids).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@trustplane/testkit';
import { loadNow, machineFacts, writeResult } from './machine.js';
import { agentId, rssMb, startControlPlane } from './plane.js';
import { percentile, report, round } from './stats.js';

const STREAMS = Number(process.env['TP_BENCH_STREAMS'] ?? 1000);
const WORKLOADS = Math.max(STREAMS, Number(process.env['TP_BENCH_WORKLOADS'] ?? 1000));
const HOLDER_UIDS = Number(process.env['TP_BENCH_HOLDER_UIDS'] ?? 10);
const SAMPLES = Number(process.env['TP_BENCH_SAMPLES'] ?? 10_000);
const NEW_CONNECTION_SAMPLES = Number(process.env['TP_BENCH_NEW_CONNECTION_SAMPLES'] ?? 2_000);
const WARMUP = Number(process.env['TP_BENCH_WARMUP'] ?? 1_000);
const FIRST_UID = 20_000;
/** The measuring workload's uid: one of the entries, not a holder's. */
const CLIENT_UID = FIRST_UID + HOLDER_UIDS;

/** Spawns one of the bench's scripts as `uid` (the kernel then reports that uid to the agent). */
function spawnAs(uid: number, script: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [join(__dirname, script), ...args], { uid, gid: uid, stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env['PATH'] ?? '' } });
}

/** Runs a child to completion and returns its last stdout line parsed. */
async function runAs<T>(uid: number, script: string, args: readonly string[]): Promise<T> {
  const child = spawnAs(uid, script, args);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} as uid ${uid} exited ${code}`);
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** Starts HOLDER_UIDS processes (one per uid) holding STREAMS streams in all; resolves when all are open. */
async function holdStreams(socket: string): Promise<ChildProcess[]> {
  const holders: ChildProcess[] = [];
  const perHolder = Math.ceil(STREAMS / HOLDER_UIDS);
  for (let h = 0; h < HOLDER_UIDS; h++) {
    const count = Math.min(perHolder, STREAMS - h * perHolder);
    if (count <= 0) break;
    const holder = spawnAs(FIRST_UID + h, 'workload-api-holder.js', [socket, String(count)]);
    holders.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('open')) resolve();
      });
      holder.once('exit', (code) => reject(new Error(`stream holder (uid ${FIRST_UID + h}) exited ${code}`)));
    });
  }
  return holders;
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }),
  );
}

interface Latencies {
  readonly newConnection: number[];
  readonly existingConnection: number[];
  readonly jwt: number[];
}

/** With STREAMS streams held open: the measuring workload's three series, and the server's RSS then. */
async function measurePhase(socket: string, serverPid: number | undefined): Promise<Latencies & { rssMb: number | undefined }> {
  const holders = await holdStreams(socket);
  try {
    const latencies = await runAs<Latencies>(CLIENT_UID, 'workload-api-client.js', [
      'measure',
      socket,
      String(NEW_CONNECTION_SAMPLES),
      String(SAMPLES),
      String(SAMPLES),
      String(WARMUP),
    ]);
    return { ...latencies, rssMb: serverPid === undefined ? undefined : rssMb(serverPid) };
  } finally {
    await stopAll(holders);
  }
}

async function startBaseline(socket: string, x509: string, jwt: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(__dirname, 'workload-api-baseline.js'), socket, x509, jwt], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (/ready \d+/.test(chunk.toString())) resolve();
    });
    child.once('exit', (code) => reject(new Error(`baseline server exited ${code}`)));
  });
  // Any uid may dial it, as any may dial the agent's.
  chmodSync(socket, 0o777);
  return child;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the workload-api bench starts workloads under other uids: run it as root');
  const loadAtStart = loadNow();
  const plane = await startControlPlane('wlapi');
  try {
    const clusterId = await plane.createCluster('bench');
    const parentId = agentId(plane.trustDomain, 'bench', 'node-1');
    const entries = Array.from({ length: WORKLOADS }, (_, i) => ({
      spiffeId: `spiffe://${plane.trustDomain}/workload-${i}`,
      parentId,
      selectors: [`unix:uid:${FIRST_UID + i}`],
    }));
    await plane.createEntries(entries, 16);
    const agent = await plane.startAgent(clusterId, 'node-1');
    const pid = agent.process.pid ?? 0;
    // Every entry has its SVID in the agent's cache before anything is measured.
    await eventually(
      async () => {
        const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
        return Number(/^tp_agent_x509_svids(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0) >= WORKLOADS;
      },
      300_000,
      `${WORKLOADS} SVIDs in the agent`,
    );
    const shared = join(plane.work, 'wl');
    mkdirSync(shared, { recursive: true });
    chmodSync(shared, 0o777);
    const x509Path = join(shared, 'x509.bin');
    const jwtPath = join(shared, 'jwt.bin');
    const sample = await runAs<{ x509Bytes: number }>(CLIENT_UID, 'workload-api-client.js', ['sample', agent.socketPath, x509Path, jwtPath]);
    const baseSocket = join(shared, 'baseline.sock');
    const baseServer = await startBaseline(baseSocket, x509Path, jwtPath);
    const baseline = await measurePhase(baseSocket, undefined).finally(() => stopAll([baseServer]));
    const measured = await measurePhase(agent.socketPath, pid);
    rmSync(baseSocket, { force: true });
    const p = (values: readonly number[], q: number): number => round(percentile(values, q), 3);
    const figures = {
      streams: STREAMS,
      workloads: WORKLOADS,
      workload_uids: HOLDER_UIDS + 1,
      samples: SAMPLES,
      new_connection_samples: NEW_CONNECTION_SAMPLES,
      x509_response_bytes: sample.x509Bytes,
      new_connection_p50_ms: p(measured.newConnection, 50),
      new_connection_p99_ms: p(measured.newConnection, 99),
      baseline_new_connection_p50_ms: p(baseline.newConnection, 50),
      baseline_new_connection_p99_ms: p(baseline.newConnection, 99),
      new_connection_p99_ratio: round(percentile(measured.newConnection, 99) / percentile(baseline.newConnection, 99), 2),
      first_message_p50_ms: p(measured.existingConnection, 50),
      first_message_p99_ms: p(measured.existingConnection, 99),
      baseline_p50_ms: p(baseline.existingConnection, 50),
      baseline_p99_ms: p(baseline.existingConnection, 99),
      p99_ratio: round(percentile(measured.existingConnection, 99) / percentile(baseline.existingConnection, 99), 2),
      jwt_cached_p50_ms: p(measured.jwt, 50),
      jwt_cached_p99_ms: p(measured.jwt, 99),
      baseline_unary_p50_ms: p(baseline.jwt, 50),
      baseline_unary_p99_ms: p(baseline.jwt, 99),
      jwt_p99_ratio: round(percentile(measured.jwt, 99) / percentile(baseline.jwt, 99), 2),
      agent_rss_mb: round(measured.rssMb ?? Number.NaN, 1),
    };
    const pair = (a: number, b: number): string => `${a} / ${b}`;
    report(`baseline (bare grpc-js), ${STREAMS} streams: new connection first message p50 / p99`, pair(figures.baseline_new_connection_p50_ms, figures.baseline_new_connection_p99_ms), 'ms');
    report(`agent, ${STREAMS} streams: new connection first message p50 / p99`, pair(figures.new_connection_p50_ms, figures.new_connection_p99_ms), `ms  ${figures.new_connection_p99_ratio}× baseline p99`);
    report(`baseline (bare grpc-js), ${STREAMS} streams: existing connection first message p50 / p99`, pair(figures.baseline_p50_ms, figures.baseline_p99_ms), 'ms');
    report(`agent, ${STREAMS} streams: existing connection first message p50 / p99 (target p99 ≤ 5)`, pair(figures.first_message_p50_ms, figures.first_message_p99_ms), `ms  ${figures.p99_ratio}× baseline p99`);
    report('baseline (bare grpc-js): unary p50 / p99', pair(figures.baseline_unary_p50_ms, figures.baseline_unary_p99_ms), 'ms');
    report('agent FetchJWTSVID cached p50 / p99 (target p99 ≤ 2)', pair(figures.jwt_cached_p50_ms, figures.jwt_cached_p99_ms), `ms  ${figures.jwt_p99_ratio}× baseline p99`);
    report(`agent process RSS, ${WORKLOADS} workloads cached + ${STREAMS} streams (target ≤ 150)`, figures.agent_rss_mb, 'MB');
    const machine = await machineFacts(loadAtStart);
    report('raw crypto.sign P-256 on this machine, 1 thread / all cores', pair(machine.rawSignPerSOneThread, machine.rawSignPerSAllCores), 'sig/s');
    writeResult('workload-api', figures, machine);
  } finally {
    await plane.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

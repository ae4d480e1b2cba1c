// npm run bench -- workload-api
// The agent's Workload API under 1,000 concurrent FetchX509SVID streams: first-message latency
// of new streams served from the cache, cached FetchJWTSVID latency, and the agent's RSS with
// 1,000 workload identities cached. Baseline measured in the same run under the same load: a
// bare grpc-js server in its own process on its own Unix socket, answering with the agent's own
// encoded responses and doing no attestation, matching or caching. Both servers run as separate
// processes, as a workload and its agent do; each series is measured after a warm-up, in the
// steady state the targets describe.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';
import { percentile, report, round } from './stats.js';

const STREAMS = Number(process.env['TP_BENCH_STREAMS'] ?? 1000);
const SAMPLES = Number(process.env['TP_BENCH_SAMPLES'] ?? 20_000);
/** Calls before each series, so JIT and heap sizing have settled. */
const WARMUP = 2000;
const CALLS_PER_CHANNEL = 200;

function metadata(): Metadata {
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
}

function client(socket: string): workload.SpiffeWorkloadAPIClient {
  return new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // Own connection per client, so a fresh client really is a fresh connection.
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** Time from call to first message of a new FetchX509SVID stream (ms). */
function firstMessage(c: workload.SpiffeWorkloadAPIClient): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const call = c.fetchX509Svid({}, metadata());
    call.once('data', () => {
      resolve(performance.now() - started);
      call.cancel();
    });
    call.once('error', (error: { code?: number }) => {
      if (error.code !== 1) reject(error);
    });
  });
}

/** Starts a process holding STREAMS open streams on the socket. */
async function holdStreams(socket: string): Promise<ReturnType<typeof spawn>> {
  const holder = spawn(process.execPath, [join(__dirname, 'workload-api-holder.js'), socket, String(STREAMS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('open')) resolve();
    });
    holder.once('exit', (code) => reject(new Error(`stream holder exited ${code}`)));
  });
  return holder;
}

/** Figures of one server: new-stream first message and cached unary latencies, all in ms. */
interface PhaseFigures {
  readonly firstMessage: readonly number[];
  readonly unary: readonly number[];
  /** RSS of the server process (MB) with the streams open; undefined when not asked for. */
  readonly rssMb: number | undefined;
}

/**
 * With STREAMS streams held open by another process: WARMUP discarded calls, then SAMPLES new
 * FetchX509SVID streams one after another, then SAMPLES FetchJWTSVID calls. Both series run in
 * the steady state the targets describe (streams open, nothing being torn down).
 */
async function measurePhase(socket: string, serverPid: number | undefined): Promise<PhaseFigures> {
  const holder = await holdStreams(socket);
  try {
    const firstMessages: number[] = [];
    // A fresh connection every CALLS_PER_CHANNEL streams: nghttp2's rapid-reset guard (a burst
    // of 1,000 RST_STREAMs, then about 33/s) ends a connection that cancels streams as fast as
    // this loop does, with GOAWAY INTERNAL_ERROR.
    for (let done = -WARMUP; done < SAMPLES; ) {
      const probe = client(socket);
      await firstMessage(probe);
      for (let i = 0; i < CALLS_PER_CHANNEL && done < SAMPLES; i++, done++) {
        const latency = await firstMessage(probe);
        if (done >= 0) firstMessages.push(latency);
      }
      probe.close();
    }
    const unary = await jwtLatencies(socket);
    const rss = serverPid === undefined ? undefined : rssMb(serverPid);
    return { firstMessage: firstMessages, unary, rssMb: rss };
  } finally {
    holder.kill('SIGTERM');
    await new Promise((resolve) => holder.once('exit', resolve));
  }
}

/** Latencies (ms) of sequential cached FetchJWTSVID calls on one channel. */
async function jwtLatencies(socket: string): Promise<number[]> {
  const jwtClient = client(socket);
  const fetchJwt = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      jwtClient.fetchJwtsvid({ audience: ['bench'], spiffeId: '' }, metadata(), (error) => (error ? reject(error) : resolve(performance.now() - started)));
    });
  for (let i = 0; i < WARMUP; i++) await fetchJwt();
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) latencies.push(await fetchJwt());
  jwtClient.close();
  return latencies;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** A server child process and its pid, once it has printed "ready <pid>". */
interface ServerChild {
  readonly process: ChildProcess;
  readonly pid: number;
}

async function startServerChild(script: string, args: readonly string[], nodeFlags: readonly string[] = []): Promise<ServerChild> {
  const child = spawn(process.execPath, [...nodeFlags, join(__dirname, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (nodeFlags.length > 0) child.stdout.pipe(process.stderr);
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /ready (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
  return { process: child, pid };
}

async function stopServerChild(child: ServerChild): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tp-bench-wl-'));
  const agentSocket = join(work, 'agent.sock');
  const baseSocket = join(work, 'baseline.sock');
  // TP_BENCH_AGENT_NODE_FLAGS (e.g. "--trace-gc") runs the agent with extra node flags and
  // copies its output to stderr, for looking into where the time goes.
  const agentFlags = (process.env['TP_BENCH_AGENT_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const agentServer = await startServerChild('workload-api-server.js', [agentSocket, String(STREAMS)], agentFlags);
  try {
    // The agent's own responses, so the baseline sends the same bytes.
    const x509Sample = await new Promise<Buffer>((resolve, reject) => {
      const call = client(agentSocket).fetchX509Svid({}, metadata());
      call.once('data', (message: workload.X509SVIDResponse) => {
        resolve(Buffer.from(workload.X509SVIDResponse.encode(message).finish()));
        call.cancel();
      });
      call.once('error', reject);
    });
    const jwtSample = await new Promise<Buffer>((resolve, reject) => {
      client(agentSocket).fetchJwtsvid({ audience: ['bench'], spiffeId: '' }, metadata(), (error, value) =>
        error || !value ? reject(error) : resolve(Buffer.from(workload.JWTSVIDResponse.encode(value).finish())),
      );
    });
    writeFileSync(join(work, 'x509.bin'), x509Sample);
    writeFileSync(join(work, 'jwt.bin'), jwtSample);
    const baseServer = await startServerChild('workload-api-baseline.js', [baseSocket, join(work, 'x509.bin'), join(work, 'jwt.bin')]);
    const baseline = await measurePhase(baseSocket, undefined).finally(() => stopServerChild(baseServer));
    const agent = await measurePhase(agentSocket, agentServer.pid);
    const figures = {
      firstP50: percentile(agent.firstMessage, 50),
      firstP99: percentile(agent.firstMessage, 99),
      baseFirstP50: percentile(baseline.firstMessage, 50),
      baseFirstP99: percentile(baseline.firstMessage, 99),
      jwtP50: percentile(agent.unary, 50),
      jwtP99: percentile(agent.unary, 99),
      baseUnaryP50: percentile(baseline.unary, 50),
      baseUnaryP99: percentile(baseline.unary, 99),
      rss: agent.rssMb ?? Number.NaN,
    };
    const pair = (p50: number, p99: number): string => `${round(p50, 3)} / ${round(p99, 3)}`;
    report(`baseline (bare grpc-js), ${STREAMS} streams open: first message p50 / p99`, pair(figures.baseFirstP50, figures.baseFirstP99), 'ms');
    report(`agent Workload API, ${STREAMS} streams open: first message p50 / p99 (target p99 ≤ 5)`, pair(figures.firstP50, figures.firstP99), 'ms');
    report('baseline (bare grpc-js): unary p50 / p99', pair(figures.baseUnaryP50, figures.baseUnaryP99), 'ms');
    report('agent FetchJWTSVID cached p50 / p99 (target p99 ≤ 2)', pair(figures.jwtP50, figures.jwtP99), 'ms');
    report(`agent RSS, ${STREAMS} workloads cached + streams open (target ≤ 150)`, round(figures.rss, 1), 'MB');
    report('first-message p99 vs baseline', round(figures.firstP99 / figures.baseFirstP99, 2), '×');
    report('FetchJWTSVID p99 vs baseline', round(figures.jwtP99 / figures.baseUnaryP99, 2), '×');
    process.stdout.write(
      `${JSON.stringify({
        bench: 'workload-api',
        streams: STREAMS,
        samples: SAMPLES,
        first_message_p50_ms: round(figures.firstP50, 3),
        first_message_p99_ms: round(figures.firstP99, 3),
        baseline_p50_ms: round(figures.baseFirstP50, 3),
        baseline_p99_ms: round(figures.baseFirstP99, 3),
        p99_ratio: round(figures.firstP99 / figures.baseFirstP99, 2),
        jwt_cached_p50_ms: round(figures.jwtP50, 3),
        jwt_cached_p99_ms: round(figures.jwtP99, 3),
        baseline_unary_p99_ms: round(figures.baseUnaryP99, 3),
        jwt_p99_ratio: round(figures.jwtP99 / figures.baseUnaryP99, 2),
        agent_rss_mb: round(figures.rss, 1),
      })}\n`,
    );
  } finally {
    await stopServerChild(agentServer);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

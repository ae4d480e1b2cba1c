// npm run bench -- workload-api
// The agent's Workload API under 1,000 concurrent FetchX509SVID streams: first-message latency
// of new streams served from the cache, cached FetchJWTSVID latency, and the agent's RSS with
// 1,000 workload identities cached. Baseline measured in the same run: a bare grpc-js server on
// a Unix socket answering the same pre-encoded response with no attestation or matching.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, Server, ServerCredentials, credentials, type ServerWritableStream } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';
import { percentile, report, round } from './stats.js';

const STREAMS = Number(process.env['TP_BENCH_STREAMS'] ?? 1000);
const SAMPLES = Number(process.env['TP_BENCH_SAMPLES'] ?? 500);

function metadata(): Metadata {
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
}

function client(socket: string): workload.SpiffeWorkloadAPIClient {
  return new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
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

async function measure(socket: string, label: string): Promise<{ p50: number; p99: number }> {
  const holder = await holdStreams(socket);
  const latencies: number[] = [];
  const probe = client(socket);
  await firstMessage(probe);
  for (let i = 0; i < SAMPLES; i++) latencies.push(await firstMessage(probe));
  holder.kill('SIGTERM');
  probe.close();
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  report(`${label}: first message p50 (${STREAMS} streams open)`, round(p50, 3), 'ms');
  report(`${label}: first message p99`, round(p99, 3), 'ms');
  return { p50, p99 };
}

async function baselineServer(socket: string, response: Buffer, jwtResponse: workload.JWTSVIDResponse): Promise<Server> {
  const server = new Server();
  const decoded = workload.X509SVIDResponse.decode(response);
  server.addService(workload.SpiffeWorkloadAPIService, {
    fetchX509Svid: (call: ServerWritableStream<unknown, unknown>) => {
      call.write(decoded);
    },
    fetchX509Bundles: () => undefined,
    fetchJwtsvid: (_call: unknown, callback: (error: null, value: workload.JWTSVIDResponse) => void) => callback(null, jwtResponse),
    fetchJwtBundles: () => undefined,
    validateJwtsvid: () => undefined,
  } as never);
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return server;
}

/** Latencies (ms) of sequential cached FetchJWTSVID calls on one channel. */
async function jwtLatencies(socket: string): Promise<number[]> {
  const jwtClient = client(socket);
  const fetchJwt = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      jwtClient.fetchJwtsvid({ audience: ['bench'], spiffeId: '' }, metadata(), (error) => (error ? reject(error) : resolve(performance.now() - started)));
    });
  await fetchJwt();
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

async function main(): Promise<void> {
  const agentSocket = join(tmpdir(), `tp-bench-agent-${process.pid}.sock`);
  const baseSocket = join(tmpdir(), `tp-bench-base-${process.pid}.sock`);
  const child = spawn(process.execPath, [join(__dirname, 'workload-api-server.js'), agentSocket, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /ready (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`agent bench server exited ${code}`)));
  });
  try {
    // One response as the agent sends it, to feed the baseline server the same bytes.
    const sample = await new Promise<Buffer>((resolve, reject) => {
      const call = client(agentSocket).fetchX509Svid({}, metadata());
      call.once('data', (message: workload.X509SVIDResponse) => {
        resolve(Buffer.from(workload.X509SVIDResponse.encode(message).finish()));
        call.cancel();
      });
      call.once('error', reject);
    });
    const jwtSample = await new Promise<workload.JWTSVIDResponse>((resolve, reject) => {
      client(agentSocket).fetchJwtsvid({ audience: ['bench'], spiffeId: '' }, metadata(), (error, value) => (error || !value ? reject(error) : resolve(value)));
    });
    const base = await baselineServer(baseSocket, sample, jwtSample);
    const baseline = await measure(baseSocket, 'baseline (bare grpc-js)');
    const baseJwt = await jwtLatencies(baseSocket);
    base.forceShutdown();
    const agent = await measure(agentSocket, 'agent Workload API');
    const jwt = await jwtLatencies(agentSocket);
    const jwtP99 = percentile(jwt, 99);
    const baseJwtP99 = percentile(baseJwt, 99);
    report('baseline (bare grpc-js): unary p50 / p99', `${round(percentile(baseJwt, 50), 3)} / ${round(baseJwtP99, 3)}`, 'ms');
    report('FetchJWTSVID cached p50', round(percentile(jwt, 50), 3), 'ms');
    report('FetchJWTSVID cached p99 (target ≤ 2)', round(jwtP99, 3), 'ms');

    // RSS with 1,000 identities cached and 1,000 streams open.
    const holder = await holdStreams(agentSocket);
    const rss = rssMb(pid);
    holder.kill('SIGTERM');
    report('agent RSS, 1,000 workloads cached + streams open (target ≤ 150)', round(rss, 1), 'MB');
    report('first-message p99 vs baseline', round(agent.p99 / baseline.p99, 2), '×');
    process.stdout.write(
      `${JSON.stringify({
        bench: 'workload-api',
        streams: STREAMS,
        first_message_p50_ms: round(agent.p50, 3),
        first_message_p99_ms: round(agent.p99, 3),
        baseline_p50_ms: round(baseline.p50, 3),
        baseline_p99_ms: round(baseline.p99, 3),
        p99_ratio: round(agent.p99 / baseline.p99, 2),
        jwt_cached_p99_ms: round(jwtP99, 3),
        baseline_unary_p99_ms: round(baseJwtP99, 3),
        agent_rss_mb: round(rss, 1),
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    rmSync(baseSocket, { force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

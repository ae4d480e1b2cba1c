// npm run bench -- attestation
// Attest → first workload SVID, over 50 fresh agents: each is a new agent process
// (services/agent/dist/main.js) with an empty data directory and a new join token, whose node
// already has a registration entry for a workload; the time runs from the agent's spawn to the
// workload (this process, polling the agent's socket as a SPIFFE client retries) holding its
// X.509-SVID. That covers start-up, attestation with the signer, the first entry stream (which
// the signer authorizes only once its read model knows the new agent: read-your-writes), the
// workload key, the CSR signed and the Workload API answer. One agent at a time.
// Baseline in the same run, interleaved, one at a time: a fresh process that starts Node, loads
// the agent's module graph and completes one TLS handshake with the signer's agent API.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { workload } from '@trustplane/proto';
import { freePort, startAgentProcess } from '@trustplane/testkit';
import { loadNow, machineFacts, writeResult } from './machine.js';
import { agentId, startControlPlane } from './plane.js';
import { percentile, report, round } from './stats.js';

const AGENTS = Number(process.env['TP_BENCH_AGENTS'] ?? 50);
const TIMEOUT_MS = 60_000;

/** Resolves with the time at which a workload on `socket` first holds an SVID for `spiffeId`. */
async function firstSvid(socket: string, spiffeId: string, deadline: number): Promise<number> {
  while (!existsSync(socket)) {
    if (performance.now() > deadline) throw new Error(`no socket ${socket}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 10, 'grpc.max_reconnect_backoff_ms': 50 });
  try {
    for (;;) {
      if (performance.now() > deadline) throw new Error(`no SVID for ${spiffeId} on ${socket}`);
      const at = await new Promise<number | undefined>((resolve) => {
        const md = new Metadata();
        md.set('workload.spiffe.io', 'true');
        const call = client.fetchX509Svid({}, md);
        call.on('data', (message: workload.X509SVIDResponse) => {
          if (message.svids.some((svid) => svid.spiffeId === spiffeId)) {
            resolve(performance.now());
            call.cancel();
          }
        });
        // Refused (no identity yet) or the stream ended: try again, as SPIFFE clients do.
        call.on('error', () => resolve(undefined));
      });
      if (at !== undefined) return at;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    client.close();
  }
}

async function baselineOnce(args: readonly string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(__dirname, 'attestation-baseline.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`baseline exited ${code}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const loadAtStart = loadNow();
  const plane = await startControlPlane('attest');
  try {
    const clusterId = await plane.createCluster('bench');
    const nodes = Array.from({ length: AGENTS + 1 }, (_, i) => `fresh-${i}`);
    const spiffeIdOf = (node: string): string => `spiffe://${plane.trustDomain}/on-${node}`;
    await plane.createEntries(
      nodes.map((node) => ({ spiffeId: spiffeIdOf(node), parentId: agentId(plane.trustDomain, 'bench', node), selectors: [`unix:uid:${process.getuid?.() ?? 0}`] })),
      8,
    );
    const attest: number[] = [];
    const baseline: number[] = [];
    // nodes[0] warms the signer's and the registry's code paths and is not counted.
    for (const [i, node] of nodes.entries()) {
      const b = await baselineOnce([plane.signerAgentAddress, plane.trustDomainId, plane.bundlePath]);
      const { env, socketPath } = await plane.agentEnv(clusterId, node);
      const healthPort = await freePort();
      const started = performance.now();
      const agent = await startAgentProcess(env, { healthPort, socketPath, waitReady: false });
      try {
        const at = await firstSvid(socketPath, spiffeIdOf(node), started + TIMEOUT_MS);
        if (i > 0) {
          attest.push(at - started);
          baseline.push(b);
        }
      } catch (error) {
        process.stderr.write(agent.output());
        throw error;
      } finally {
        await agent.stop();
      }
    }
    const p = (values: readonly number[], q: number): number => round(percentile(values, q), 1);
    const figures = {
      agents: AGENTS,
      p50_ms: p(attest, 50),
      p99_ms: p(attest, 99),
      max_ms: p(attest, 100),
      baseline_p50_ms: p(baseline, 50),
      baseline_p99_ms: p(baseline, 99),
      ratio_p50: round(percentile(attest, 50) / percentile(baseline, 50), 2),
      ratio_p99: round(percentile(attest, 99) / percentile(baseline, 99), 2),
    };
    report(`baseline: node start + agent modules + TLS handshake p50 / p99 (${AGENTS})`, `${figures.baseline_p50_ms} / ${figures.baseline_p99_ms}`, 'ms');
    report('fresh agent spawned → workload holds its SVID p50', figures.p50_ms, `ms  ${figures.ratio_p50}× baseline p50`);
    report(`fresh agent spawned → workload holds its SVID p99 (target ≤ 2000; of ${AGENTS}: the maximum)`, figures.p99_ms, `ms  ${figures.ratio_p99}× baseline p99`);
    const machine = await machineFacts(loadAtStart);
    writeResult('attestation', figures, machine);
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

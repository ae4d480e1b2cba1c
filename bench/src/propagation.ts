// npm run bench -- propagation
// Time from the POST of a registration entry (the real REST API of the registry process) to a
// workload on one of 20 real agent processes holding its SVID on an open FetchX509SVID stream,
// over 1,000 entries created one after another, with 10,000 further entries registered (500 per
// agent, each with an SVID cached by its agent) before the first sample. Registry, signer and
// agents are separate processes on NATS JetStream and PostgreSQL.
// Baseline in the same run, at the same parallelism (one at a time): the bus's bare hop, a raw
// JetStream publish on a stream of its own until an ordered consumer has the message. The POST
// round trip is printed as a component of the path, not as a baseline.
import { credentials, Metadata } from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { workload } from '@trustplane/proto';
import { eventually, testStreamSettings } from '@trustplane/testkit';
import { loadNow, machineFacts, writeResult } from './machine.js';
import { agentId, startControlPlane, type ControlPlane } from './plane.js';
import { mapConcurrent, percentile, report, round } from './stats.js';

const AGENTS = Number(process.env['TP_BENCH_AGENTS'] ?? 20);
const SAMPLES = Number(process.env['TP_BENCH_SAMPLES'] ?? 1_000);
const BACKGROUND_ENTRIES = Number(process.env['TP_BENCH_BACKGROUND_ENTRIES'] ?? 10_000);

/** Raw JetStream: publish → an ordered consumer has it, one at a time, `samples` times (ms each). */
async function jetStreamHop(plane: ControlPlane, samples: number): Promise<number[]> {
  const settings = testStreamSettings('bench_prop_base');
  const jsm = await jetstreamManager(plane.nc);
  await jsm.streams.add({ name: settings.streamName, subjects: [`${settings.subjectPrefix}.>`] });
  try {
    const js = jetstream(plane.nc);
    const consumer = await js.consumers.get(settings.streamName);
    const messages = await consumer.consume();
    const waiting = new Map<number, () => void>();
    void (async () => {
      for await (const message of messages) waiting.get(Number(message.string()))?.();
    })();
    const out: number[] = [];
    for (let i = -50; i < samples; i++) {
      const started = performance.now();
      const seen = new Promise<void>((resolve) => waiting.set(i, resolve));
      await js.publish(`${settings.subjectPrefix}.hop`, String(i));
      await seen;
      waiting.delete(i);
      if (i >= 0) out.push(performance.now() - started);
    }
    await messages.close();
    return out;
  } finally {
    await jsm.streams.delete(settings.streamName).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadNow();
  const plane = await startControlPlane('prop');
  try {
    const clusterId = await plane.createCluster('bench');
    const nodes = Array.from({ length: AGENTS }, (_, i) => `node-${i}`);
    const parentOf = (i: number): string => agentId(plane.trustDomain, 'bench', nodes[i % AGENTS] ?? '');
    // Entries for workloads that are not running (uids nobody has), spread over the agents.
    const setupStarted = performance.now();
    await plane.createEntries(
      Array.from({ length: BACKGROUND_ENTRIES }, (_, i) => ({
        spiffeId: `spiffe://${plane.trustDomain}/background-${i}`,
        parentId: parentOf(i),
        selectors: [`unix:uid:${30_000 + i}`],
      })),
      16,
    );
    const registeredIn = performance.now() - setupStarted;
    const agents = [];
    for (let i = 0; i < nodes.length; i += 5) {
      agents.push(...(await Promise.all(nodes.slice(i, i + 5).map((node) => plane.startAgent(clusterId, node, { timeoutMs: 180_000 })))));
    }
    // Every agent holds an SVID for each of its background entries before the first sample.
    const perAgent = Math.floor(BACKGROUND_ENTRIES / AGENTS);
    await mapConcurrent(agents, 4, async (agent) => {
      await eventually(
        async () => {
          const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text();
          return Number(/^tp_agent_x509_svids(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0) >= perAgent;
        },
        600_000,
        `${perAgent} SVIDs in ${agent.socketPath}`,
      );
    });
    const readyIn = performance.now() - setupStarted;

    // The workload on every agent: one FetchX509SVID stream, noting when each SPIFFE ID first
    // arrives. A caller without an identity yet is refused (PermissionDenied, which SPIFFE
    // clients retry): the stream is opened again then, as they do.
    const seen = new Map<string, number>();
    let stopping = false;
    const calls = agents.map((agent) => {
      const client = new workload.SpiffeWorkloadAPIClient(`unix://${agent.socketPath}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
      const holder: { call?: ReturnType<typeof client.fetchX509Svid> } = {};
      const open = (): void => {
        const md = new Metadata();
        md.set('workload.spiffe.io', 'true');
        const call = client.fetchX509Svid({}, md);
        holder.call = call;
        call.on('data', (message: workload.X509SVIDResponse) => {
          const now = performance.now();
          for (const svid of message.svids) if (!seen.has(svid.spiffeId)) seen.set(svid.spiffeId, now);
        });
        call.on('error', () => {
          if (!stopping) setTimeout(open, 20);
        });
      };
      open();
      return { client, holder };
    });
    const entry = (i: number, node = i) => ({ spiffeId: `spiffe://${plane.trustDomain}/workload-${i}`, parentId: parentOf(node), selectors: ['unix:uid:0'] });
    // Warm-up: one entry per agent (it also opens each stream's first message).
    for (let i = 0; i < AGENTS; i++) {
      await plane.createEntries([entry(-1 - i, i)], 1);
      await eventually(() => seen.has(entry(-1 - i, i).spiffeId), 60_000, `warm-up SVID on ${nodes[i]}`);
    }

    const propagation: number[] = [];
    const post: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const { spiffeId } = entry(i);
      const started = performance.now();
      const created = await plane.api('POST', `/api/v1/trust-domains/${plane.trustDomain}/entries`, entry(i));
      if (created.status !== 201) throw new Error(`entry ${i}: ${created.status} ${JSON.stringify(created.json)}`);
      post.push(performance.now() - started);
      await eventually(() => seen.has(spiffeId), 30_000, spiffeId);
      propagation.push((seen.get(spiffeId) ?? 0) - started);
    }
    stopping = true;
    for (const { client, holder } of calls) {
      holder.call?.cancel();
      client.close();
    }
    const hop = await jetStreamHop(plane, SAMPLES);
    const p = (values: readonly number[], q: number): number => round(percentile(values, q), 1);
    const figures = {
      agents: AGENTS,
      entries_registered: BACKGROUND_ENTRIES + AGENTS + SAMPLES,
      background_entries: BACKGROUND_ENTRIES,
      samples: SAMPLES,
      setup_register_s: round(registeredIn / 1000, 1),
      setup_agents_ready_s: round(readyIn / 1000, 1),
      p50_ms: p(propagation, 50),
      p99_ms: p(propagation, 99),
      max_ms: p(propagation, 100),
      post_p50_ms: p(post, 50),
      post_p99_ms: p(post, 99),
      baseline_jetstream_hop_p50_ms: round(percentile(hop, 50), 2),
      baseline_jetstream_hop_p99_ms: round(percentile(hop, 99), 2),
      ratio_p99: round(percentile(propagation, 99) / percentile(hop, 99), 1),
    };
    report('agents / entries registered', `${AGENTS} / ${figures.entries_registered}`);
    report('raw JetStream publish → ordered consumer p50 / p99 (baseline)', `${figures.baseline_jetstream_hop_p50_ms} / ${figures.baseline_jetstream_hop_p99_ms}`, 'ms');
    report('of the path: POST /entries round trip p50 / p99', `${figures.post_p50_ms} / ${figures.post_p99_ms}`, 'ms');
    report('entry created → workload holds its SVID p50', figures.p50_ms, 'ms');
    report('entry created → workload holds its SVID p99 (target ≤ 1000)', figures.p99_ms, `ms  ${figures.ratio_p99}× the JetStream hop p99`);
    const machine = await machineFacts(loadAtStart);
    writeResult('propagation', figures, machine);
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

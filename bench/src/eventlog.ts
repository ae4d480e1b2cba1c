// npm run bench -- eventlog
// The event log (@trustplane/eventstore on NATS JetStream, the registry's organization
// projection in PostgreSQL), each figure next to a baseline measured in this run:
// 1. append throughput, 64 in flight, against raw JetStream publishes of the same payloads at the
//    same concurrency: both sides warmed up first, then ROUNDS alternating phases of each;
// 2. command → projection visible at a steady 500 commands/s (creates), against a raw JetStream
//    publish → ordered consumer at the same rate;
// 3. the same at 2,000 commands/s with read-before-write: each command reads the organization's
//    row from the projection, then handleCommand loads the aggregate from the log, decides a
//    rename and appends with the expected version;
// 4. rebuild throughput of the projection over ≥ 100,000 events, against a raw ordered read.
import { jetstream, jetstreamManager, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { toEnvelope, uuidv7, type DomainEnvelope, type OrganizationEvent } from '@trustplane/events';
import { EventLog, handleCommand, ProjectionRunner, rebuildProjection, type CommandContext } from '@trustplane/eventstore';
import { organizationDecider } from '@trustplane/registry-domain';
import { organizationProjection, registryMigrations } from '@trustplane/registry';
import { runMigrations } from '@trustplane/platform';
import { connectTestNats, createTestDatabase, deleteTestStream, testStreamSettings } from '@trustplane/testkit';
import { loadNow, machineFacts, writeResult } from './machine.js';
import { mapConcurrent, percentile, report, round } from './stats.js';

const REBUILD_EVENTS = Number(process.env['TP_BENCH_REBUILD_EVENTS'] ?? 100_000);
const PHASE = Number(process.env['TP_BENCH_APPEND_PHASE'] ?? 2_000);
const ROUNDS = Number(process.env['TP_BENCH_APPEND_ROUNDS'] ?? 5);
const WARMUP = Number(process.env['TP_BENCH_WARMUP'] ?? 2_000);
const LATENCY_SECONDS = Number(process.env['TP_BENCH_LATENCY_SECONDS'] ?? 10);
const FAST_SECONDS = Number(process.env['TP_BENCH_FAST_SECONDS'] ?? 5);
const RATE = 500;
const FAST_RATE = 2_000;
const CONCURRENCY = 64;

function orgCreated(id: string, name: string): DomainEnvelope {
  return toEnvelope<OrganizationEvent>(
    { type: 'organization.created', schemaVersion: 1, data: { name } },
    {
      tenant: id,
      aggregateType: 'organization',
      aggregateId: id,
      occurredAt: new Date().toISOString(),
      actor: { kind: 'system', id: 'bench' },
      causationId: 'bench',
      correlationId: 'bench',
    },
    uuidv7(),
  );
}

const orgId = (n: number, run: string): string => `t-${run}${n.toString(36).padStart(10 - run.length, '0')}`;

const context = (): CommandContext => ({
  actor: { kind: 'system', id: 'bench' },
  correlationId: uuidv7(),
  causationId: uuidv7(),
  now: new Date(),
});

/** Most operations in flight at once: past it, issuing waits (the achieved rate then drops below the asked one). */
const MAX_IN_FLIGHT = 512;

/**
 * Issues `total` operations at `rate` per second (each started on schedule, not waiting for the
 * previous one, at most MAX_IN_FLIGHT at once) and returns the achieved rate and how many
 * failed (an overloaded machine times requests out; they are counted, not retried).
 */
async function paced(rate: number, total: number, issue: (i: number, start: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const operation: Promise<void> = issue(i, performance.now()).then(
      () => {
        inFlight.delete(operation);
      },
      (error: unknown) => {
        inFlight.delete(operation);
        failures.push(error);
      },
    );
    inFlight.add(operation);
  }
  await Promise.all(inFlight);
  return total / ((performance.now() - t0) / 1000);
}

/** Operations of the paced phases that failed. */
let failures: unknown[] = [];

/** Baseline of a latency phase: raw publish at `rate` → an ordered consumer has it, on a stream of its own (ms each). */
async function rawHop(nc: NatsConnection, rate: number, total: number, payload: string): Promise<{ latencies: number[]; achieved: number }> {
  const settings = testStreamSettings('bench_hop');
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: settings.streamName, subjects: [`${settings.subjectPrefix}.>`] });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(settings.streamName);
    const messages = await consumer.consume();
    const started = new Map<number, number>();
    const latencies: number[] = [];
    const warm = Math.min(200, total);
    let received = 0;
    let allReceived: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    void (async () => {
      for await (const message of messages) {
        const start = started.get(Number(message.headers?.get('i') ?? '-1'));
        if (start !== undefined) latencies.push(performance.now() - start);
        if (++received === total + warm) allReceived();
      }
    })();
    // Warm-up (not counted): the new stream and consumer's first messages.
    for (let i = 0; i < warm; i++) await js.publish(`${settings.subjectPrefix}.hop`, payload);
    const achieved = await paced(rate, total, async (i, start) => {
      started.set(i, start);
      const h = headers();
      h.set('i', String(i));
      await js.publish(`${settings.subjectPrefix}.hop`, payload, { headers: h });
    });
    // A publish that failed (counted by paced) never arrives: wait for the rest, not forever.
    await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
    failures = [];
    await messages.close();
    return { latencies, achieved };
  } finally {
    await jsm.streams.delete(settings.streamName).catch(() => undefined);
  }
}

/** Append-throughput phases: raw publishes and event log appends of `count` fresh events each. */
async function rawPhase(js: JetStreamClient, prefix: string, run: string, count: number): Promise<number> {
  const events = Array.from({ length: count }, (_, i) => orgCreated(orgId(i, run), `raw-${i}`));
  const started = performance.now();
  await mapConcurrent(events, CONCURRENCY, async (event) => {
    await js.publish(`${prefix}.evt.${event.tenant}.organization.${event.aggregateId}`, JSON.stringify(event));
  });
  return performance.now() - started;
}

async function appendPhase(log: EventLog, run: string, count: number): Promise<number> {
  const events = Array.from({ length: count }, (_, i) => orgCreated(orgId(i, run), `append-${i}`));
  const started = performance.now();
  await mapConcurrent(events, CONCURRENCY, async (event) => {
    await log.append({ tenant: event.tenant, aggregateType: 'organization', aggregateId: event.aggregateId }, 0, [event]);
  });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const loadAtStart = loadNow();
  const nc = await connectTestNats();
  const db = await createTestDatabase('bench_eventlog');
  const stream = testStreamSettings('bench');
  const log = await EventLog.open(nc, stream);
  await runMigrations(db.url, registryMigrations('registry'), 'registry_migrations');
  try {
    // 1. Append throughput, both sides warmed up, then alternating phases.
    const js = jetstream(nc);
    await rawPhase(js, stream.subjectPrefix, 'wr', WARMUP);
    await appendPhase(log, 'wa', WARMUP);
    let rawMs = 0;
    let appendMs = 0;
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      rawMs += await rawPhase(js, stream.subjectPrefix, `r${round_}`, PHASE);
      appendMs += await appendPhase(log, `a${round_}`, PHASE);
    }
    const rawPublishPerS = (ROUNDS * PHASE) / (rawMs / 1000);
    const appendPerS = (ROUNDS * PHASE) / (appendMs / 1000);
    report('raw JetStream publish (baseline)', round(rawPublishPerS, 0), 'msg/s');
    report('event log append (msg id + expected sequence)', round(appendPerS, 0), `events/s  ${round(appendPerS / rawPublishPerS, 2)}× raw`);

    // 2 and 3. Command → projection visible at a steady rate.
    const pending = new Map<number, number>();
    let latencies: number[] = [];
    const runner = new ProjectionRunner({
      nc,
      pool: db.pool,
      stream,
      schema: 'registry',
      projection: organizationProjection,
      observer: {
        batchCommitted: (_p, _n, checkpoint) => {
          const now = performance.now();
          for (const [sequence, start] of pending) {
            if (sequence <= checkpoint) {
              latencies.push(now - start);
              pending.delete(sequence);
            }
          }
        },
      },
    });
    await runner.start();
    await runner.waitFor(await log.lastSequence(), 300_000);
    const visible = (version: number, start: number): void => {
      if (version <= runner.position) latencies.push(performance.now() - start);
      else pending.set(version, start);
    };
    const payload = JSON.stringify(orgCreated(orgId(0, 'p'), 'latency-00000'));

    const total = RATE * LATENCY_SECONDS;
    const hop = await rawHop(nc, RATE, total, payload);
    const created: string[] = [];
    failures = [];
    const achieved = await paced(RATE, total, async (i, start) => {
      const id = orgId(i, 'l');
      created.push(id);
      const result = await handleCommand(log, organizationDecider, { tenant: id, aggregateType: 'organization', aggregateId: id }, { kind: 'create', id, name: `latency-${i}` }, context());
      visible(result.version, start);
    });
    await runner.waitFor(await log.lastSequence(), 60_000);
    const slow = latencies;
    const slowFailed = failures.length;
    failures = [];
    latencies = [];
    report(`raw publish → consumer at ${RATE}/s p50 / p99 (baseline)`, `${round(percentile(hop.latencies, 50), 2)} / ${round(percentile(hop.latencies, 99), 2)}`, 'ms');
    report(`command → projection visible at ${round(achieved, 0)} cmd/s p50 / p99 (target p99 ≤ 50)`, `${round(percentile(slow, 50), 2)} / ${round(percentile(slow, 99), 2)}`, 'ms');

    const fastTotal = FAST_RATE * FAST_SECONDS;
    const fastHop = await rawHop(nc, FAST_RATE, fastTotal, payload);
    failures = [];
    const fastAchieved = await paced(FAST_RATE, fastTotal, async (i, start) => {
      const id = created[i % created.length] ?? '';
      const row = await db.pool.query<{ name: string }>('SELECT name FROM registry.organizations WHERE id = $1', [id]);
      if (row.rowCount !== 1) throw new Error(`organization ${id} not in the projection`);
      const result = await handleCommand(log, organizationDecider, { tenant: id, aggregateType: 'organization', aggregateId: id }, { kind: 'rename', name: `renamed-${i}` }, context());
      visible(result.version, start);
    });
    await runner.waitFor(await log.lastSequence(), 120_000);
    await runner.stop();
    const fast = latencies;
    const fastFailed = failures.length;
    if (fastFailed > 0) process.stderr.write(`${fastFailed} commands failed at ${FAST_RATE}/s, the first: ${String(failures[0])}\n`);
    report(`raw publish → consumer at ${FAST_RATE}/s p50 / p99 (baseline)`, `${round(percentile(fastHop.latencies, 50), 2)} / ${round(percentile(fastHop.latencies, 99), 2)}`, 'ms');
    report(`read + command → projection visible at ${round(fastAchieved, 0)} cmd/s p50 / p99`, `${round(percentile(fast, 50), 2)} / ${round(percentile(fast, 99), 2)}`, 'ms');

    // 4. Rebuild throughput over ≥ REBUILD_EVENTS events vs a raw ordered read of the same log.
    const have = await log.lastSequence();
    const extra = Math.max(0, REBUILD_EVENTS - have);
    await mapConcurrent(
      Array.from({ length: extra }, (_, i) => i),
      128,
      async (i) => {
        const id = orgId(i, 'f');
        await js.publish(`${stream.subjectPrefix}.evt.${id}.organization.${id}`, JSON.stringify(orgCreated(id, `fill-${i}`)), { msgID: uuidv7() });
      },
    );
    const through = await log.lastSequence();
    let started = performance.now();
    const reader = await js.consumers.get(stream.streamName, { deliver_policy: DeliverPolicy.All });
    const messages = await reader.consume({ max_messages: 4_000 });
    let read = 0;
    for await (const message of messages) {
      read += message.data.length > 0 ? 1 : 0;
      if (message.seq >= through) break;
    }
    await messages.close();
    const rawReadPerS = read / ((performance.now() - started) / 1000);
    started = performance.now();
    const rebuilt = await rebuildProjection({
      nc,
      pool: db.pool,
      stream,
      projection: organizationProjection,
      liveSchema: 'registry',
      targetSchema: 'registry_rebuild_bench',
      throughSequence: through,
    });
    const rebuildPerS = rebuilt.eventsRead / (rebuilt.durationMs / 1000);
    report('events in the log', through);
    report('raw ordered read of the log (baseline)', round(rawReadPerS, 0), 'events/s');
    report('projection rebuild (target ≥ 20,000)', round(rebuildPerS, 0), `events/s  ${round(rebuildPerS / rawReadPerS, 2)}× raw read`);

    const ms = (values: readonly number[], q: number): number => round(percentile(values, q), 2);
    const machine = await machineFacts(loadAtStart);
    writeResult(
      'eventlog',
      {
        append_rounds: ROUNDS,
        append_phase_events: PHASE,
        append_per_s: round(appendPerS, 0),
        raw_publish_per_s: round(rawPublishPerS, 0),
        append_ratio: round(appendPerS / rawPublishPerS, 3),
        commands: total,
        commands_per_s: round(achieved, 0),
        commands_failed: slowFailed,
        p50_ms: ms(slow, 50),
        p99_ms: ms(slow, 99),
        baseline_hop_p50_ms: ms(hop.latencies, 50),
        baseline_hop_p99_ms: ms(hop.latencies, 99),
        p99_ratio: round(percentile(slow, 99) / percentile(hop.latencies, 99), 2),
        fast_commands: fastTotal,
        fast_target_per_s: FAST_RATE,
        fast_commands_per_s: round(fastAchieved, 0),
        fast_commands_failed: fastFailed,
        fast_read_before_write: true,
        fast_p50_ms: ms(fast, 50),
        fast_p99_ms: ms(fast, 99),
        fast_baseline_hop_p50_ms: ms(fastHop.latencies, 50),
        fast_baseline_hop_p99_ms: ms(fastHop.latencies, 99),
        fast_baseline_per_s: round(fastHop.achieved, 0),
        fast_p99_ratio: round(percentile(fast, 99) / percentile(fastHop.latencies, 99), 2),
        rebuild_events: rebuilt.eventsRead,
        rebuild_events_per_s: round(rebuildPerS, 0),
        raw_read_events_per_s: round(rawReadPerS, 0),
        rebuild_ratio: round(rebuildPerS / rawReadPerS, 3),
      },
      machine,
    );
  } finally {
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

// npm run bench -- eventlog
// Append throughput, command → projection-visible latency at a steady 500 commands/s, and
// rebuild throughput over ≥ 100,000 events — each next to a baseline measured in this run.
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';
import { toEnvelope, uuidv7, type DomainEnvelope, type OrganizationEvent } from '@trustplane/events';
import {
  EventLog,
  handleCommand,
  ProjectionRunner,
  rebuildProjection,
  type CommandContext,
} from '@trustplane/eventstore';
import { organizationDecider } from '@trustplane/registry-domain';
import { organizationProjection, registryMigrations } from '@trustplane/registry';
import { runMigrations } from '@trustplane/platform';
import { connectTestNats, createTestDatabase, deleteTestStream, testStreamSettings } from '@trustplane/testkit';
import { mapConcurrent, percentile, report, round } from './stats.js';

const REBUILD_EVENTS = Number(process.env['TP_BENCH_REBUILD_EVENTS'] ?? 100_000);
const APPENDS = 10_000;
const RATE = 500;
const LATENCY_SECONDS = Number(process.env['TP_BENCH_LATENCY_SECONDS'] ?? 10);

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

async function main(): Promise<void> {
  const nc = await connectTestNats();
  const db = await createTestDatabase('bench_eventlog');
  const stream = testStreamSettings('bench');
  const log = await EventLog.open(nc, stream);
  await runMigrations(db.url, registryMigrations('registry'), 'registry_migrations');
  try {
    // 1. Append throughput vs raw JetStream publish (same payloads, no dedupe/concurrency headers).
    const js = jetstream(nc);
    const rawEvents = Array.from({ length: APPENDS }, (_, i) => orgCreated(orgId(i, 'r'), `raw-${i}`));
    let started = performance.now();
    await mapConcurrent(rawEvents, 64, async (event) => {
      await js.publish(`${stream.subjectPrefix}.evt.${event.tenant}.organization.${event.aggregateId}`, JSON.stringify(event));
    });
    const rawPublishPerS = APPENDS / ((performance.now() - started) / 1000);
    const appendEvents = Array.from({ length: APPENDS }, (_, i) => orgCreated(orgId(i, 'a'), `append-${i}`));
    started = performance.now();
    await mapConcurrent(appendEvents, 64, async (event) => {
      await log.append({ tenant: event.tenant, aggregateType: 'organization', aggregateId: event.aggregateId }, 0, [event]);
    });
    const appendPerS = APPENDS / ((performance.now() - started) / 1000);
    report('raw JetStream publish (baseline)', round(rawPublishPerS, 0), 'msg/s');
    report('event log append (msg id + expected sequence)', round(appendPerS, 0), 'events/s');
    report('append / raw publish', round(appendPerS / rawPublishPerS, 2), '×');

    // 2. Command → projection-visible latency at a steady rate.
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
    const pending = new Map<number, number>();
    const latencies: number[] = [];
    await runner.start();
    await runner.waitFor(await log.lastSequence(), 120_000);
    const total = RATE * LATENCY_SECONDS;
    const context = (): CommandContext => ({
      actor: { kind: 'system', id: 'bench' },
      correlationId: uuidv7(),
      causationId: uuidv7(),
      now: new Date(),
    });
    const t0 = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const id = orgId(i, 'l');
      const start = performance.now();
      inFlight.push(
        handleCommand(log, organizationDecider, { tenant: id, aggregateType: 'organization', aggregateId: id }, { kind: 'create', id, name: `latency-${i}` }, context()).then(
          (result) => {
            if (result.version <= runner.position) latencies.push(performance.now() - start);
            else pending.set(result.version, start);
          },
        ),
      );
    }
    await Promise.all(inFlight);
    const achievedRate = total / ((performance.now() - t0) / 1000);
    await runner.waitFor(await log.lastSequence(), 30_000);
    await runner.stop();
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    report('commands issued', total);
    report('achieved command rate', round(achievedRate, 0), 'cmd/s');
    report('command → projection visible p50', round(p50, 2), 'ms');
    report('command → projection visible p99 (target ≤ 50)', round(p99, 2), 'ms');

    // 3. Rebuild throughput over ≥ REBUILD_EVENTS events vs a raw ordered read of the same log.
    const have = await log.lastSequence();
    const extra = Math.max(0, REBUILD_EVENTS - have);
    const fill = Array.from({ length: extra }, (_, i) => i);
    await mapConcurrent(fill, 128, async (i) => {
      const id = orgId(i, 'f');
      await js.publish(`${stream.subjectPrefix}.evt.${id}.organization.${id}`, JSON.stringify(orgCreated(id, `fill-${i}`)), {
        msgID: uuidv7(),
      });
    });
    const through = await log.lastSequence();
    started = performance.now();
    const reader = await js.consumers.get(stream.streamName, { deliver_policy: DeliverPolicy.All });
    const messages = await reader.consume({ max_messages: 4_000 });
    let read = 0;
    for await (const message of messages) {
      read += message.data.length > 0 ? 1 : 0;
      if (message.seq >= through) break;
    }
    await messages.close();
    const rawReadPerS = read / ((performance.now() - started) / 1000);
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
    report('projection rebuild (target ≥ 20,000)', round(rebuildPerS, 0), 'events/s');
    report('rebuild / raw read', round(rebuildPerS / rawReadPerS, 2), '×');

    process.stdout.write(
      `${JSON.stringify({
        bench: 'eventlog',
        append_per_s: round(appendPerS, 0),
        raw_publish_per_s: round(rawPublishPerS, 0),
        append_ratio: round(appendPerS / rawPublishPerS, 3),
        commands_per_s: round(achievedRate, 0),
        p50_ms: round(p50, 2),
        p99_ms: round(p99, 2),
        rebuild_events: rebuilt.eventsRead,
        rebuild_events_per_s: round(rebuildPerS, 0),
        raw_read_events_per_s: round(rawReadPerS, 0),
        rebuild_ratio: round(rebuildPerS / rawReadPerS, 3),
      })}\n`,
    );
  } finally {
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

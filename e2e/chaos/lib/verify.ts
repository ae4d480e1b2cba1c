// What a chaos run asserts, computed from the event stream and the services' tables rather than
// from what the client was told: acknowledged writes present in the log and the read model,
// one resource per idempotency key and label, no committed write answered as a failure, no
// orphaned name reservation or stuck idempotency key, checkpoints at the stream's last
// sequence, a rebuild from sequence 1 equal to the live tables, no dead letters.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decodeEvents } from '@trustplane/events';
import { repoRoot } from '@trustplane/testkit';
import type { ChaosStack } from './stack.js';
import { acknowledged, type OpKind, type Operation } from './load.js';

/** An event as the verifier reads it from the stream. */
export interface LoggedEvent {
  /** Sequence of the stream message holding it (the events of one decision share one message). */
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly data: Record<string, unknown>;
}

/** The event type that creates each kind of resource, its read-model table and the label in its data. */
const CREATED: Record<OpKind, { type: string; table: string; label: (data: Record<string, unknown>) => unknown }> = {
  'trust-domain': { type: 'trustdomain.created', table: 'trust_domains', label: (d) => d['name'] },
  cluster: { type: 'cluster.created', table: 'clusters', label: (d) => d['name'] },
  entry: { type: 'entry.created', table: 'entries', label: (d) => d['spiffeId'] },
  token: { type: 'apitoken.created', table: 'api_tokens', label: (d) => d['name'] },
};

/**
 * Reads every event of the stream, in order, with an ordered consumer on an admin connection. A
 * message holds the events of one decision (one envelope, or a JSON array of them), so it is read
 * with decodeEvents; `messages` counts the stream messages, `events.length` the events in them.
 */
export async function readStream(stack: ChaosStack): Promise<{ events: LoggedEvent[]; lastSeq: number; messages: number }> {
  const nc = await stack.nats.connect('admin');
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stack.streamName);
    const lastSeq = info.state.last_seq;
    const events: LoggedEvent[] = [];
    let messageCount = 0;
    if (lastSeq === 0) return { events, lastSeq, messages: 0 };
    const consumer = await jetstream(nc).consumers.get(stack.streamName, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const message of messages) {
      messageCount++;
      for (const envelope of decodeEvents(message.data)) {
        events.push({
          seq: message.seq,
          id: envelope.id,
          type: envelope.type,
          aggregateId: envelope.aggregateId,
          data: (envelope.data ?? {}) as Record<string, unknown>,
        });
      }
      if (message.seq >= lastSeq) break;
    }
    await messages.close();
    return { events, lastSeq, messages: messageCount };
  } finally {
    await nc.close();
  }
}

/** The projections' checkpoints of one schema. */
async function checkpoints(stack: ChaosStack, schema: string): Promise<Map<string, number>> {
  const rows = await stack.db.pool.query<{ projection: string; stream_seq: string }>(`SELECT projection, stream_seq FROM "${schema}".projection_checkpoints`);
  return new Map(rows.rows.map((r) => [`${schema}.${r.projection}`, Number(r.stream_seq)]));
}

/** Every projection checkpoint of the registry and the signer. */
export async function allCheckpoints(stack: ChaosStack): Promise<Map<string, number>> {
  return new Map([...(await checkpoints(stack, 'registry')), ...(await checkpoints(stack, 'signer'))]);
}

/** Waits (bounded) until every checkpoint reaches the stream's last sequence and stays there. */
export async function waitForQuiescence(stack: ChaosStack, timeoutMs: number): Promise<{ lastSeq: number; checkpoints: Map<string, number>; settled: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let lastSeq = 0;
  let cps = new Map<string, number>();
  let stableSince = 0;
  for (;;) {
    try {
      const nc = await stack.nats.connect('admin');
      try {
        lastSeq = (await (await jetstreamManager(nc)).streams.info(stack.streamName)).state.last_seq;
      } finally {
        await nc.close();
      }
      cps = await allCheckpoints(stack);
      const caughtUp = cps.size > 0 && [...cps.values()].every((seq) => seq === lastSeq);
      if (caughtUp) {
        // Nothing appended for a while (the reconciler and the signer may still be writing).
        if (stableSince === 0) stableSince = Date.now();
        if (Date.now() - stableSince >= 1500) return { lastSeq, checkpoints: cps, settled: true };
      } else stableSince = 0;
    } catch {
      stableSince = 0;
    }
    if (Date.now() > deadline) return { lastSeq, checkpoints: cps, settled: false };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Name reservations whose trust domain does not exist (the reconciler should have released them). */
async function orphanedReservations(stack: ChaosStack): Promise<string[]> {
  const rows = await stack.db.pool.query<{ name: string }>(
    `SELECT r.name FROM registry.trust_domain_names r WHERE NOT EXISTS (SELECT 1 FROM registry.trust_domains t WHERE t.id = r.trust_domain_id)`,
  );
  return rows.rows.map((r) => r.name);
}

/**
 * Idempotency records without an outcome, by key: `held` when the claim still holds (or has no
 * end) — every retry of that key is refused IN_PROGRESS — and `lapsed` when a retry may take it over.
 */
async function keysWithoutOutcome(stack: ChaosStack): Promise<{ held: Set<string>; lapsed: Set<string> }> {
  const rows = await stack.db.pool.query<{ key: string; held: boolean }>(
    `SELECT key, (claimed_until IS NULL OR claimed_until > now()) AS held FROM registry.idempotency_keys WHERE status IS NULL`,
  );
  return { held: new Set(rows.rows.filter((r) => r.held).map((r) => r.key)), lapsed: new Set(rows.rows.filter((r) => !r.held).map((r) => r.key)) };
}

/** Dead letters of both services. */
export async function deadLetters(stack: ChaosStack): Promise<number> {
  let total = 0;
  for (const schema of ['registry', 'signer']) {
    const rows = await stack.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".projection_dead_letters`);
    total += Number(rows.rows[0]?.n ?? 0);
  }
  return total;
}

/** Runs the registry's own rebuild (admin.js rebuild: every projection from sequence 1, compared row for row). */
export async function rebuildEqual(stack: ChaosStack): Promise<{ equal: boolean; code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot(), 'services', 'registry', 'dist', 'admin.js'), 'rebuild'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...stack.registryEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { equal: code === 0 && !/DIFFERENT/.test(output), code, output };
}

/** Per-scenario findings (counts plus the first few examples of each). */
export interface ScenarioVerdict {
  readonly requests: number;
  readonly ok2xx: number;
  readonly accepted202: number;
  readonly failed5xx: number;
  readonly other4xx: number;
  readonly secretShownOnce: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly committedButFailed: number;
  /** Every attempt's answer (status or code → count), for the whole scenario. */
  readonly attemptAnswers: Record<string, number>;
  readonly examples: Record<string, string[]>;
}

/** Lost, duplicated and committed-but-failed writes among `ops`, from the log and the tables. */
export async function judgeOperations(stack: ChaosStack, ops: readonly Operation[], events: readonly LoggedEvent[]): Promise<ScenarioVerdict> {
  const examples: Record<string, string[]> = {};
  const example = (what: string, text: string): void => {
    const list = (examples[what] ??= []);
    if (list.length < 5) list.push(text);
  };
  // Created events per (kind, label) and the set of ids created per kind.
  const byLabel = new Map<string, LoggedEvent[]>();
  for (const event of events) {
    for (const [kind, spec] of Object.entries(CREATED)) {
      if (event.type !== spec.type) continue;
      const key = `${kind}|${String(spec.label(event.data))}`;
      const list = byLabel.get(key) ?? [];
      list.push(event);
      byLabel.set(key, list);
    }
  }
  const rows = new Map<OpKind, Set<string>>();
  for (const [kind, spec] of Object.entries(CREATED) as [OpKind, (typeof CREATED)[OpKind]][]) {
    const result = await stack.db.pool.query<{ id: string }>(`SELECT id FROM registry.${spec.table}`);
    rows.set(kind, new Set(result.rows.map((r) => r.id)));
  }
  let ok2xx = 0;
  let accepted202 = 0;
  let failed5xx = 0;
  let other4xx = 0;
  let secretShownOnce = 0;
  let lost = 0;
  let duplicated = 0;
  let committedButFailed = 0;
  const attemptAnswers: Record<string, number> = {};
  for (const op of ops) {
    for (const attempt of op.attempts) {
      const label = `${attempt.status}${attempt.code === undefined ? '' : ` ${attempt.code}`}`;
      attemptAnswers[label] = (attemptAnswers[label] ?? 0) + 1;
    }
    const created = byLabel.get(`${op.kind}|${op.label}`) ?? [];
    if (created.length > 1) {
      duplicated += created.length - 1;
      example('duplicated', `${op.kind} ${op.label} key ${op.key}: ${created.length} created events (${created.map((e) => e.aggregateId).join(', ')})`);
    }
    if (op.final === 202) accepted202++;
    else if (typeof op.final === 'number' && op.final >= 200 && op.final < 300) ok2xx++;
    else if (op.final === 409 && op.finalCode === 'SECRET_SHOWN_ONCE') secretShownOnce++;
    else if (op.final === 'timeout' || op.final === 'error' || (typeof op.final === 'number' && op.final >= 500)) failed5xx++;
    else other4xx++;
    if (acknowledged(op)) {
      const inLog = created.some((e) => e.aggregateId === op.resourceId);
      const inTable = op.resourceId !== undefined && (rows.get(op.kind)?.has(op.resourceId) ?? false);
      if (!inLog || !inTable) {
        lost++;
        example('lost', `${op.kind} ${op.label} answered ${op.final} id ${op.resourceId}: ${inLog ? '' : 'no event '}${inTable ? '' : 'no row'}`);
      }
    } else if (created.length > 0) {
      committedButFailed++;
      example('committedButFailed', `${op.kind} ${op.label} key ${op.key}: committed as ${created[0]?.aggregateId}, final answer ${op.final}${op.finalCode === undefined ? '' : ` ${op.finalCode}`} after ${op.attempts.length} attempts`);
    }
    if (op.final !== undefined && !acknowledged(op) && typeof op.final === 'number' && op.final < 500 && op.final !== 409) {
      example('other4xx', `${op.kind} ${op.label}: ${op.final} ${op.finalCode ?? ''}`);
    }
  }
  return { requests: ops.length, ok2xx, accepted202, failed5xx, other4xx, secretShownOnce, lost, duplicated, committedButFailed, attemptAnswers, examples };
}

/** State of the whole stack after a scenario (cumulative over the run). */
export interface GlobalVerdict {
  readonly settled: boolean;
  readonly lastSeq: number;
  readonly checkpoints: Record<string, number>;
  readonly checkpointsEqual: boolean;
  readonly duplicateEventIds: number;
  readonly orphanedReservations: number;
  readonly stuckKeys: number;
  /** Keys of answered requests whose record has no outcome (the claim lapsed): reported, not failed. */
  readonly answeredKeysWithoutOutcome: number;
  readonly deadLetters: number;
  /** Whether a rebuild from sequence 1 equals the live tables; null when not checked after this scenario. */
  readonly rebuildEqual: boolean | null;
  readonly trustDomainsNotAvailable: number;
  readonly examples: Record<string, string[]>;
}

/** Waits for the stack to settle, then checks the invariants that hold for the whole log. */
export async function judgeStack(
  stack: ChaosStack,
  ops: readonly Operation[],
  options: {
    settleTimeoutMs: number;
    orphanTimeoutMs: number;
    /** The registry's idempotency claim time (ms). */
    claimMs: number;
    /** Run the rebuild comparison (a Node process of its own; the short run does it once, at the end). */
    rebuild: boolean;
  },
): Promise<{ verdict: GlobalVerdict; events: LoggedEvent[] }> {
  const examples: Record<string, string[]> = {};
  // Half-done trust domain creates are finished or released by the reconciler after its grace.
  const orphanDeadline = Date.now() + options.orphanTimeoutMs;
  let orphans = await orphanedReservations(stack).catch(() => ['?']);
  while (orphans.length > 0 && Date.now() < orphanDeadline) {
    await new Promise((r) => setTimeout(r, 250));
    orphans = await orphanedReservations(stack).catch(() => ['?']);
  }
  if (orphans.length > 0) examples['orphanedReservations'] = orphans.slice(0, 5);
  // Every trust domain the load created becomes available once the signer has its CA.
  const availableDeadline = Date.now() + options.settleTimeoutMs;
  let pending = 0;
  for (;;) {
    const rows = await stack.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM registry.trust_domains WHERE status <> 'available'`);
    pending = Number(rows.rows[0]?.n ?? 0);
    if (pending === 0 || Date.now() > availableDeadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const quiet = await waitForQuiescence(stack, options.settleTimeoutMs);
  const { events, lastSeq } = await readStream(stack);
  const seen = new Set<string>();
  let duplicateEventIds = 0;
  for (const event of events) {
    if (seen.has(event.id)) {
      duplicateEventIds++;
      (examples['duplicateEventIds'] ??= []).push(`${event.id} at seq ${event.seq}`);
    }
    seen.add(event.id);
  }
  // Every request has ended: a claim that still holds after the claim time is stuck (its retries
  // are refused IN_PROGRESS forever); a lapsed one without an outcome is only reported.
  // A claim lapses idempotencyClaimMs after it was taken (e.g. when recording the outcome met a
  // PostgreSQL outage): wait that long for held claims to lapse before calling any of them stuck.
  const claimDeadline = Date.now() + options.claimMs + 2000;
  let withoutOutcome = await keysWithoutOutcome(stack);
  while (ops.some((op) => withoutOutcome.held.has(op.key)) && Date.now() < claimDeadline) {
    await new Promise((r) => setTimeout(r, 500));
    withoutOutcome = await keysWithoutOutcome(stack);
  }
  const describe = (op: Operation): string => `${op.key} (${op.kind} ${op.label}, final ${op.final} ${op.finalCode ?? ''})`;
  const stuck = ops.filter((op) => withoutOutcome.held.has(op.key));
  if (stuck.length > 0) examples['stuckKeys'] = stuck.slice(0, 5).map(describe);
  const lapsed = ops.filter((op) => withoutOutcome.lapsed.has(op.key) && acknowledged(op));
  if (lapsed.length > 0) examples['answeredKeysWithoutOutcome'] = lapsed.slice(0, 5).map(describe);
  const cps = quiet.checkpoints;
  const checkpointsEqual = cps.size > 0 && [...cps.values()].every((seq) => seq === lastSeq);
  const rebuild = options.rebuild ? await rebuildEqual(stack) : { equal: null, code: null, output: '' };
  if (rebuild.equal === false) {
    const lines = rebuild.output.split('\n').filter((l) => l.trim() !== '');
    const telling = lines.filter((l) => /DIFFERENT|error|fail/i.test(l)).slice(0, 5);
    examples['rebuild'] = [`exit code ${rebuild.code}`, ...(telling.length > 0 ? telling : lines.slice(-5))];
  }
  return {
    events,
    verdict: {
      settled: quiet.settled,
      lastSeq,
      checkpoints: Object.fromEntries(cps),
      checkpointsEqual,
      duplicateEventIds,
      orphanedReservations: orphans.length,
      stuckKeys: stuck.length,
      answeredKeysWithoutOutcome: lapsed.length,
      deadLetters: await deadLetters(stack),
      rebuildEqual: rebuild.equal,
      trustDomainsNotAvailable: pending,
      examples,
    },
  };
}

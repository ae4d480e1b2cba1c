// The faults, the run that applies them one after the other to one stack under load, and the
// table and JSON it reports. Each scenario: load for a warm-up, inject the fault, keep the load
// on until the scenario's time is up, stop issuing, let every retry finish, then judge the
// scenario's operations and the whole stack.
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { uniqueToken } from '@trustplane/testkit';
import { LoadClient, type Operation } from './load.js';
import { startChaosStack, type ChaosStack, type Note } from './stack.js';
import { judgeOperations, judgeStack, type GlobalVerdict, type ScenarioVerdict } from './verify.js';

/** When a fault began and when it ended (the component started again / resumed / freed). */
export interface FaultWindow {
  readonly startedAt: number;
  readonly endedAt: number;
  /** When the restarted component was up again (process ready, server accepting); `endedAt` if nothing restarts. */
  readonly upAt: number;
  /** When the restarted process first answered HTTP (listening, perhaps not ready yet), if a process restarted. */
  readonly listeningAt?: number;
  /** When the fault was fully in place (the store full), if later than `startedAt`. */
  readonly heldFrom?: number;
  /** Anything worth reporting (boot time of the restarted process, ballast size, …). */
  readonly detail: string;
}

/** A fault the run can inject. */
export interface Fault {
  readonly name: string;
  readonly description: string;
  /** Whether the recovery bound for process restarts applies. */
  readonly processRestart: boolean;
  /**
   * A restart of nats-server or PostgreSQL: the long run measures its recovery bound from the
   * server accepting connections again (their own start-up is not the product's), where a
   * registry or signer restart is measured from the spawn (the issue's "restart → first write").
   */
  readonly infrastructure?: boolean;
  /** Whether the registry's /readyz must say "not ready" while the fault lasts (writes cannot succeed). */
  readonly notReadyDuringFault?: boolean;
  inject(stack: ChaosStack, timing: Timing, note: Note): Promise<FaultWindow>;
}

/** Durations of a run (ms). */
export interface Timing {
  /** Load before the fault. */
  readonly warmupMs: number;
  /** Total load time of a scenario (warm-up, fault, after). */
  readonly scenarioMs: number;
  /** How long a SIGSTOP lasts. */
  readonly stopMs: number;
  /** How long a full store stays full. */
  readonly fullStoreMs: number;
  /** Gap between a kill and the restart (a supervisor's restart delay). */
  readonly restartDelayMs: number;
  /** Restarts in the repeated-restart scenarios. */
  readonly repeats: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function killAndRestart(which: 'registry' | 'signer'): Fault {
  return {
    name: `${which}-sigkill`,
    description: `SIGKILL the ${which}, start it again after the restart delay`,
    processRestart: true,
    async inject(stack, timing) {
      const service = stack[which];
      const startedAt = Date.now();
      await service.signal('SIGKILL');
      await sleep(timing.restartDelayMs);
      const endedAt = Date.now();
      await service.start();
      return {
        startedAt,
        endedAt,
        upAt: Date.now(),
        listeningAt: service.spawnedAt + service.lastListeningMs,
        detail: `listening ${service.lastListeningMs} ms, ready ${service.lastBootMs} ms after spawn`,
      };
    },
  };
}

const registryStop: Fault = {
  name: 'registry-sigstop',
  description: 'SIGSTOP the registry, SIGCONT after the stop time',
  processRestart: true,
  async inject(stack, timing) {
    const startedAt = Date.now();
    await stack.registry.signal('SIGSTOP');
    await sleep(timing.stopMs);
    await stack.registry.signal('SIGCONT');
    const endedAt = Date.now();
    return { startedAt, endedAt, upAt: endedAt, detail: `stopped ${timing.stopMs} ms` };
  },
};

const natsKill: Fault = {
  name: 'nats-sigkill',
  description: 'SIGKILL nats-server, start it again on the same store',
  processRestart: true,
  infrastructure: true,
  async inject(stack, timing) {
    const startedAt = Date.now();
    await stack.nats.kill();
    await sleep(timing.restartDelayMs);
    const endedAt = Date.now();
    await stack.nats.restart();
    return { startedAt, endedAt, upAt: Date.now(), detail: `server up after ${Date.now() - endedAt} ms` };
  },
};

const postgresStop: Fault = {
  name: 'postgres-immediate',
  description: 'pg_ctl stop -m immediate, start again (pg_terminate_backend on the shared-server fallback)',
  processRestart: true,
  infrastructure: true,
  async inject(stack, timing) {
    const startedAt = Date.now();
    await stack.db.outageStart();
    await sleep(Math.max(timing.restartDelayMs, 1000));
    const endedAt = Date.now();
    await stack.db.outageEnd();
    return { startedAt, endedAt, upAt: Date.now(), detail: `${stack.db.mode}, server up after ${Date.now() - endedAt} ms` };
  },
};

function repeated(base: Fault, name: string): Fault {
  return {
    name,
    description: `${base.description}, repeated`,
    processRestart: true,
    ...(base.infrastructure === true ? { infrastructure: true } : {}),
    async inject(stack, timing, note) {
      const startedAt = Date.now();
      let last: FaultWindow | undefined;
      for (let i = 0; i < timing.repeats; i++) {
        last = await base.inject(stack, timing, note);
        await sleep(500);
      }
      return { startedAt, endedAt: last?.endedAt ?? Date.now(), upAt: last?.upAt ?? Date.now(), detail: `${timing.repeats} times; last: ${last?.detail ?? ''}` };
    },
  };
}

const fullStore: Fault = {
  name: 'jetstream-full',
  description: 'fill the JetStream store (max_file_store) with a ballast stream, hold, delete the ballast',
  processRestart: false,
  notReadyDuringFault: true,
  async inject(stack, timing, note) {
    const nc = await stack.nats.connect('admin');
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const name = `CHAOS_BALLAST_${uniqueToken().toUpperCase()}`;
    const subject = `chaosballast.${name.toLowerCase()}`;
    await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, retention: RetentionPolicy.Limits, num_replicas: 1 });
    const chunk = new Uint8Array(512 * 1024).fill(7);
    const startedAt = Date.now();
    let bytes = 0;
    let refusal = '';
    for (let i = 0; i < 100_000; i++) {
      try {
        await js.publish(subject, chunk);
        bytes += chunk.length;
      } catch (error) {
        refusal = error instanceof Error ? error.message : String(error);
        break;
      }
    }
    note(`ballast ${Math.round(bytes / 1048576)} MiB until "${refusal}"`);
    const heldFrom = Date.now();
    await sleep(timing.fullStoreMs);
    await jsm.streams.delete(name);
    const endedAt = Date.now();
    await nc.close();
    return { startedAt, endedAt, upAt: endedAt, heldFrom, detail: `ballast ${Math.round(bytes / 1048576)} MiB, refused: ${refusal}` };
  },
};

/** Every fault, by name, in the order a full run applies them. */
export const FAULTS: readonly Fault[] = [
  killAndRestart('registry'),
  killAndRestart('signer'),
  registryStop,
  natsKill,
  postgresStop,
  fullStore,
  repeated(postgresStop, 'postgres-restart-x20'),
  repeated(natsKill, 'nats-restart-x20'),
];

/** Polls the registry's /readyz every 250 ms while a scenario runs. */
class ReadyzProbe {
  readonly samples: { at: number; status: number | 'error' }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly url: () => string) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      const at = Date.now();
      fetch(`${this.url()}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then(
          (r) => this.samples.push({ at, status: r.status }),
          () => this.samples.push({ at, status: 'error' }),
        )
        .finally(() => (this.busy = false));
    }, 250);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Samples taken inside [from, to]: how many, how many said ready (200). */
  between(from: number, to: number): { samples: number; ready: number } {
    const inside = this.samples.filter((s) => s.at >= from && s.at <= to);
    return { samples: inside.length, ready: inside.filter((s) => s.status === 200).length };
  }
}

/** One scenario's outcome. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly description: string;
  readonly window: FaultWindow;
  /** Fault end → first 200/201 answer completed after it (s); null when none. */
  readonly recoverySeconds: number | null;
  /** Restarted component up (ready) → first 200/201 answer (s): the stall after a restart, without the boot. */
  readonly recoveryAfterUpSeconds: number | null;
  /** Restarted process listening (first HTTP answer) → first 200/201 answer (s); null without a restarted process. */
  readonly recoveryAfterListeningSeconds: number | null;
  /** Which of the two the bound applies to. */
  readonly recoveryMeasuredFrom: 'fault-end' | 'up';
  readonly recoveryBoundSeconds: number;
  readonly operations: ScenarioVerdict;
  readonly stack: GlobalVerdict;
  /** Registry /readyz samples while the fault lasted (store full: it must say not ready). */
  readonly readyzDuringFault: { samples: number; ready: number };
  /** Services that exited on their own during the scenario (restarted as a supervisor would). */
  readonly unexpectedExits: readonly string[];
  /** Assertions that failed (name → explanation). */
  readonly failures: Record<string, string>;
}

/** How a run is configured. */
export interface ChaosOptions {
  readonly scenarios: readonly string[];
  readonly rate: number;
  readonly timing: Timing;
  /** Recovery bound for process restarts (s). */
  readonly recoveryBoundSeconds: number;
  /**
   * What the bound is measured from: the fault's end (includes the boot) or the component being up
   * again. Default: the fault's end for registry/signer restarts, `up` for infrastructure ones.
   */
  readonly recoveryFrom?: 'fault-end' | 'up';
  readonly maxFileStoreBytes: number;
  readonly attemptTimeoutMs: number;
  readonly budgetMs: number;
  readonly settleTimeoutMs: number;
  /** Called with every finished scenario (the long run writes its JSON as it goes). */
  readonly onResult?: (results: readonly ScenarioResult[]) => void;
  /** Runs on the settled stack after the last scenario, before it is torn down (checks of the checks). */
  readonly beforeTeardown?: (stack: ChaosStack, operations: readonly Operation[]) => Promise<void>;
  /**
   * Compare a rebuild with the live tables after every scenario (default) or, when false, only
   * after the last one (the log is cumulative, so a divergence anywhere still shows; it saves a
   * Node process per scenario in the short run).
   */
  readonly rebuildAfterEach?: boolean;
  /** Registry idempotency claim (ms); the product default (15 s) when absent. */
  readonly idempotencyClaimMs?: number;
  readonly note: Note;
}

/** How long the load may run past a scenario's end while no write has succeeded since its fault ended. */
const RECOVERY_GRACE_MS = 30_000;

/** Seconds from `from` to the first write answered 200/201 (visible; a 202 is a projection still behind). */
function recoveryOf(ops: readonly Operation[], from: number): number | null {
  let first = Number.POSITIVE_INFINITY;
  for (const op of ops) {
    for (const attempt of op.attempts) {
      if ((attempt.status === 200 || attempt.status === 201) && attempt.doneAt >= from) first = Math.min(first, attempt.doneAt);
    }
  }
  return Number.isFinite(first) ? (first - from) / 1000 : null;
}

/** The assertions of one scenario. */
function failuresOf(result: Omit<ScenarioResult, 'failures'>, fault: Fault): Record<string, string> {
  const processRestart = fault.processRestart;
  const f: Record<string, string> = {};
  const { operations: o, stack: s } = result;
  const ex = (what: string, examples: Record<string, string[]>): string => (examples[what] ?? []).join('; ');
  if (o.lost > 0) f['lost'] = `${o.lost} acknowledged writes missing from the log or the read model: ${ex('lost', o.examples)}`;
  if (o.duplicated > 0) f['duplicated'] = `${o.duplicated} extra resources from idempotent retries: ${ex('duplicated', o.examples)}`;
  if (s.duplicateEventIds > 0) f['duplicateEventIds'] = `${s.duplicateEventIds} event ids appear twice: ${ex('duplicateEventIds', s.examples)}`;
  if (o.committedButFailed > 0) f['committedButFailed'] = `${o.committedButFailed} committed writes answered as failures: ${ex('committedButFailed', o.examples)}`;
  if (s.orphanedReservations > 0) f['orphanedReservations'] = `${s.orphanedReservations} name reservations without a trust domain: ${ex('orphanedReservations', s.examples)}`;
  if (s.stuckKeys > 0) f['stuckKeys'] = `${s.stuckKeys} idempotency keys left in progress: ${ex('stuckKeys', s.examples)}`;
  if (!s.checkpointsEqual) f['checkpoints'] = `checkpoints ${JSON.stringify(s.checkpoints)} ≠ last sequence ${s.lastSeq}`;
  if (s.rebuildEqual === false) f['rebuild'] = `rebuild from sequence 1 differs from the live tables: ${ex('rebuild', s.examples)}`;
  if (s.deadLetters > 0) f['deadLetters'] = `${s.deadLetters} dead letters`;
  if (s.trustDomainsNotAvailable > 0) f['trustDomainsAvailable'] = `${s.trustDomainsNotAvailable} trust domains not available after recovery`;
  if (fault.notReadyDuringFault === true && result.readyzDuringFault.samples > 0 && result.readyzDuringFault.ready === result.readyzDuringFault.samples)
    f['readyz'] = `/readyz answered 200 in all ${result.readyzDuringFault.samples} probes while writes could not succeed`;
  if (result.unexpectedExits.length > 0) f['serviceExited'] = result.unexpectedExits.map((e) => e.split('\n')[0]).join('; ');
  if (o.ok2xx + o.accepted202 === 0) f['progress'] = 'no write succeeded in the scenario';
  const recovery = result.recoveryMeasuredFrom === 'up' ? result.recoveryAfterUpSeconds : result.recoverySeconds;
  const from = result.recoveryMeasuredFrom === 'up' ? 'the restarted component was up' : 'the fault ended';
  if (recovery === null) f['recovery'] = `no write answered 200/201 after ${from}`;
  else if (processRestart && recovery > result.recoveryBoundSeconds)
    f['recovery'] = `first write answered 200/201 ${recovery.toFixed(2)} s after ${from} (bound ${result.recoveryBoundSeconds} s; boot/restart: ${result.window.detail})`;
  return f;
}

/** The registry's default idempotency claim time (TP_REGISTRY_IDEMPOTENCY_CLAIM_MS unset). */
const PRODUCT_IDEMPOTENCY_CLAIM_MS = 15_000;

/** Stacks of runs in progress (so an interrupted run can still tear its servers down). */
export const activeStacks = new Set<ChaosStack>();

/** A chaos run: one stack, the chosen scenarios one after the other. */
export async function runChaos(options: ChaosOptions): Promise<{ results: ScenarioResult[]; shutdown: Record<string, { code: number | null; ms: number; outputTail?: string }>; db: string }> {
  const { note, timing } = options;
  const stack = await startChaosStack({
    maxFileStoreBytes: options.maxFileStoreBytes,
    reconcileGraceMs: 3000,
    ...(options.idempotencyClaimMs === undefined ? {} : { idempotencyClaimMs: options.idempotencyClaimMs }),
    note,
  });
  activeStacks.add(stack);
  const results: ScenarioResult[] = [];
  let shutdown: Record<string, { code: number | null; ms: number; outputTail?: string }> = {};
  try {
    const runToken = uniqueToken().slice(0, 6);
    // Trust domains that clusters and entries go into, available before the faults begin.
    const setup = new LoadClient({
      baseUrl: () => stack.registry.url,
      token: stack.token,
      trustDomains: [],
      rate: 0,
      attemptTimeoutMs: options.attemptTimeoutMs,
      budgetMs: options.budgetMs,
      maxInFlight: 1,
      runToken,
    });
    const bases: string[] = [];
    for (let i = 0; i < 3; i++) {
      const op = await setup.once('trust-domain', `base${i}-${runToken}.chaos.example`);
      if (op.final !== 201 && op.final !== 202) throw new Error(`setup: trust domain ${op.label} answered ${op.final} ${op.finalCode ?? ''}`);
      bases.push(op.label);
    }
    const load = new LoadClient({
      baseUrl: () => stack.registry.url,
      token: stack.token,
      trustDomains: bases,
      rate: options.rate,
      attemptTimeoutMs: options.attemptTimeoutMs,
      budgetMs: options.budgetMs,
      maxInFlight: Math.max(50, options.rate * 4),
      runToken,
    });
    for (const name of options.scenarios) {
      const fault = FAULTS.find((f) => f.name === name);
      if (fault === undefined) throw new Error(`unknown scenario ${name} (known: ${FAULTS.map((f) => f.name).join(', ')})`);
      note(`scenario ${name}: ${fault.description}`);
      const began = Date.now();
      const exitsBefore = { registry: stack.registry.unexpectedExits.length, signer: stack.signer.unexpectedExits.length };
      load.start(name);
      const probe = new ReadyzProbe(() => stack.registry.url);
      probe.start();
      await sleep(timing.warmupMs);
      const window = await fault.inject(stack, timing, note);
      const rest = timing.scenarioMs - (Date.now() - began);
      if (rest > 0) await sleep(rest);
      // A fault that ends late (a slow restart on a loaded machine) still gets writes after it
      // to judge its recovery by: the load goes on until one succeeds, at most RECOVERY_GRACE_MS.
      const graceEnds = Date.now() + RECOVERY_GRACE_MS;
      while (Date.now() < graceEnds && recoveryOf(load.operations.filter((op) => op.scenario === name), window.upAt) === null) await sleep(250);
      load.stop();
      probe.stop();
      await load.drain();
      const ops = load.operations.filter((op) => op.scenario === name);
      const { verdict, events } = await judgeStack(stack, load.operations, {
        settleTimeoutMs: options.settleTimeoutMs,
        orphanTimeoutMs: options.settleTimeoutMs,
        claimMs: options.idempotencyClaimMs ?? PRODUCT_IDEMPOTENCY_CLAIM_MS,
        rebuild: options.rebuildAfterEach !== false || name === options.scenarios.at(-1),
      });
      const operations = await judgeOperations(stack, ops, events);
      const partial = {
        scenario: name,
        description: fault.description,
        window,
        recoverySeconds: recoveryOf(ops, window.endedAt),
        recoveryAfterUpSeconds: recoveryOf(ops, window.upAt),
        recoveryAfterListeningSeconds: window.listeningAt === undefined ? null : recoveryOf(ops, window.listeningAt),
        recoveryMeasuredFrom: options.recoveryFrom ?? (fault.infrastructure === true ? ('up' as const) : ('fault-end' as const)),
        recoveryBoundSeconds: options.recoveryBoundSeconds,
        operations,
        stack: verdict,
        readyzDuringFault: probe.between(window.heldFrom ?? window.startedAt, window.endedAt),
        unexpectedExits: [...stack.registry.unexpectedExits.slice(exitsBefore.registry), ...stack.signer.unexpectedExits.slice(exitsBefore.signer)],
      };
      const result: ScenarioResult = { ...partial, failures: failuresOf(partial, fault) };
      results.push(result);
      options.onResult?.(results);
      note(`scenario ${name} done: ${Object.keys(result.failures).length === 0 ? 'all assertions hold' : `failed: ${Object.keys(result.failures).join(', ')}`}`);
    }
    await options.beforeTeardown?.(stack, load.operations);
  } finally {
    // Services must still shut down on SIGTERM after everything they went through.
    shutdown = { signer: await stack.signer.stop(), registry: await stack.registry.stop() };
    await stack.destroy();
    activeStacks.delete(stack);
  }
  return { results, shutdown, db: stack.db.mode };
}


const seconds = (s: number | null): string => (s === null ? '-' : s.toFixed(2));

/** The per-scenario table. */
export function renderTable(results: readonly ScenarioResult[], known: Readonly<Record<string, string>> = {}): string {
  const header = ['scenario', 'requests', '2xx', '202', '5xx', 'lost', 'duplicated', 'committed-but-5xx', 'orphaned', 'recovery s (after listening; after up)', 'rebuild equal', 'dead letters', 'verdict'];
  const rows = results.map((r) => {
    const failed = Object.keys(r.failures);
    const unknown = failed.filter((f) => known[`${r.scenario}:${f}`] === undefined);
    const verdict = failed.length === 0 ? 'pass' : unknown.length === 0 ? `known failure (${failed.join(', ')})` : `FAIL (${unknown.join(', ')})`;
    return [
      r.scenario,
      String(r.operations.requests),
      String(r.operations.ok2xx),
      String(r.operations.accepted202),
      String(r.operations.failed5xx),
      String(r.operations.lost),
      String(r.operations.duplicated + r.stack.duplicateEventIds),
      String(r.operations.committedButFailed),
      String(r.stack.orphanedReservations + r.stack.stuckKeys),
      `${seconds(r.recoverySeconds)} (${r.recoveryAfterListeningSeconds === null ? '' : `${seconds(r.recoveryAfterListeningSeconds)}; `}${seconds(r.recoveryAfterUpSeconds)})`,
      r.stack.rebuildEqual === null ? '(at end)' : r.stack.rebuildEqual ? 'yes' : 'NO',
      String(r.stack.deadLetters),
      verdict,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

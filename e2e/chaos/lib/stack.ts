// The private stack a chaos run breaks: its own nats-server (with a bounded JetStream store, so a
// full store can be provoked), its own PostgreSQL cluster (initdb/pg_ctl; a database on the
// shared server when no private cluster can be started), and the real registry and signer
// processes, each of which can be SIGKILLed, SIGSTOPped and started again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { auditStreamName } from '@trustplane/bus';
import pg from 'pg';
import {
  createTestDatabase,
  freePort,
  startPrivateNats,
  startPrivatePostgres,
  startServiceProcess,
  tpctl,
  uniqueToken,
  type PrivateNats,
  type PrivatePostgres,
  type RunningService,
  type TestDatabase,
} from '@trustplane/testkit';

/** Something the log writes about the stack as it goes. */
export type Note = (line: string) => void;

/** A service process that faults can kill and restart on the same port and environment. */
export class ServiceUnderTest {
  private running: RunningService | undefined;
  /** When the current process was spawned (ms since epoch). */
  spawnedAt = 0;
  /** How long the last (re)start took until /readyz said ready (ms). */
  lastBootMs = 0;
  /** How long the last (re)start took until the process answered HTTP at all (/healthz; ms). */
  lastListeningMs = 0;
  /** Exits nobody asked for (the process died on its own), with the tail of its output. */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  private starting = false;
  private closed = false;

  constructor(
    readonly name: 'registry' | 'signer',
    readonly env: Record<string, string>,
    readonly port: number,
    private readonly note: Note = () => undefined,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running?.process.pid;
  }

  /** Output of the current process (for diagnostics). */
  output(): string {
    return this.running?.output() ?? '';
  }

  async start(): Promise<void> {
    this.spawnedAt = Date.now();
    this.expectingExit = false;
    this.starting = true;
    let running: RunningService;
    // The first HTTP answer of the new process (it listens before it is ready: it may still wait
    // for its dependencies or catch its projections up), polled alongside the /readyz wait.
    let listeningAt = 0;
    const spawnedAt = this.spawnedAt;
    const listening = (async () => {
      while (listeningAt === 0 && this.starting) {
        const answered = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
          () => true,
          () => false,
        );
        if (answered) listeningAt = Date.now();
        else await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      // A boot on a saturated machine can take tens of seconds: a slow boot is measured, not fatal.
      running = await startServiceProcess(this.name, this.env, this.port, 120_000);
    } finally {
      this.starting = false;
      await listening;
    }
    this.lastListeningMs = (listeningAt === 0 ? Date.now() : listeningAt) - spawnedAt;
    if (this.closed) {
      await running.stop();
      return;
    }
    this.running = running;
    this.lastBootMs = Date.now() - this.spawnedAt;
    running.process.once('exit', (code, signal) => {
      if (this.expectingExit) return;
      const tail = running.output().split('\n').slice(-60).join('\n');
      const line = `${this.name} (pid ${running.process.pid}) exited on its own: code ${code} signal ${signal}\n${tail}`;
      this.unexpectedExits.push(line);
      this.note(line);
      if (this.running === running) this.running = undefined;
      this.superviseRestart();
    });
  }

  /** Like a supervisor (systemd Restart=always, Kubernetes): start it again every second until it runs. */
  private superviseRestart(): void {
    setTimeout(() => {
      if (this.expectingExit || this.closed || this.starting || this.running !== undefined) return;
      this.start().catch((error: unknown) => {
        this.note(`${this.name} restart failed: ${(error instanceof Error ? error.message : String(error)).split('\n').slice(0, 2).join(' ')}`);
        this.superviseRestart();
      });
    }, 1000);
  }

  /** Whether a process is running (it may have died on its own). */
  get alive(): boolean {
    const child = this.running?.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` to the process; for SIGKILL waits until it is gone. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.running?.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (signal === 'SIGKILL') {
      this.expectingExit = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      this.running = undefined;
    } else {
      child.kill(signal);
    }
  }

  /** SIGTERM and wait; returns the exit code and how long the shutdown took. */
  async stop(): Promise<{ code: number | null; ms: number; outputTail?: string }> {
    const started = Date.now();
    this.expectingExit = true;
    this.closed = true;
    const running = this.running;
    const code = (await running?.stop()) ?? null;
    this.running = undefined;
    const ms = Date.now() - started;
    // A slow stop is a finding: keep what the process said last (its shutdown steps log warnings).
    return ms > 10_000 && running !== undefined ? { code, ms, outputTail: running.output().split('\n').slice(-30).join('\n') } : { code, ms };
  }
}

/** The database side of the stack: a private cluster, or a database on the shared server. */
export interface ChaosDatabase {
  /** `private-cluster` (pg_ctl stop -m immediate / start) or `shared-server` (pg_terminate_backend). */
  readonly mode: 'private-cluster' | 'shared-server';
  readonly url: string;
  readonly name: string;
  /** Cuts every connection of the services: stops the server hard (or terminates their backends). */
  outageStart(): Promise<void>;
  /** Ends the outage (starts the server again; nothing to do on the shared server). */
  outageEnd(): Promise<void>;
  /** A pool as the superuser on the run's database. */
  readonly pool: pg.Pool;
  destroy(): Promise<void>;
}

async function privateDatabase(note: Note): Promise<ChaosDatabase> {
  let cluster: PrivatePostgres;
  try {
    cluster = await startPrivatePostgres();
  } catch (error) {
    note(`no private PostgreSQL cluster (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): using a database on the shared server, outages by pg_terminate_backend`);
    return sharedDatabase();
  }
  const name = `tp_chaos_${uniqueToken()}`;
  const url = await cluster.createDatabase(name);
  note(`private PostgreSQL (${cluster.binDir}) on port ${cluster.port}, data ${cluster.dataDir}`);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // The verifier's pool outlives outages: a broken idle client is dropped, not thrown.
  pool.on('error', () => undefined);
  return {
    mode: 'private-cluster',
    url,
    name,
    pool,
    outageStart: () => cluster.stopImmediate(),
    outageEnd: () => cluster.start(),
    async destroy() {
      await pool.end().catch(() => undefined);
      await cluster.destroy();
    },
  };
}

async function sharedDatabase(): Promise<ChaosDatabase> {
  const db: TestDatabase = await createTestDatabase('chaos');
  db.pool.on('error', () => undefined);
  return {
    mode: 'shared-server',
    url: db.url,
    name: db.name,
    pool: db.pool,
    async outageStart() {
      await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db.name]);
    },
    async outageEnd() {},
    destroy: () => db.drop(),
  };
}

/** Everything a run needs: servers, services, the organization and its admin token. */
export interface ChaosStack {
  readonly nats: PrivateNats;
  readonly db: ChaosDatabase;
  readonly streamName: string;
  readonly subjectPrefix: string;
  readonly registry: ServiceUnderTest;
  readonly signer: ServiceUnderTest;
  /** The registry's environment (host-local tpctl and admin.js use it too). */
  readonly registryEnv: Record<string, string>;
  readonly token: string;
  readonly organizationId: string;
  destroy(): Promise<void>;
}

/** Options of the stack. */
export interface StackOptions {
  /** JetStream max_file_store of the private server. */
  readonly maxFileStoreBytes: number;
  /** Reconciler grace (ms) for half-done trust domain creates. */
  readonly reconcileGraceMs: number;
  /** TP_REGISTRY_IDEMPOTENCY_CLAIM_MS (how long a dead request's key stays claimed); the product default when absent. */
  readonly idempotencyClaimMs?: number;
  readonly note: Note;
}

/** Starts nats-server, PostgreSQL, the registry and the signer; bootstraps an organization and token. */
export async function startChaosStack(options: StackOptions): Promise<ChaosStack> {
  const { note } = options;
  const token = uniqueToken();
  const streamName = `TP_CHAOS_${token.toUpperCase()}`;
  const subjectPrefix = `tpc${token}`;
  const nats = await startPrivateNats({ scope: { prefix: subjectPrefix, stream: streamName }, maxFileStoreBytes: options.maxFileStoreBytes });
  note(`private nats-server ${nats.url} (max_file_store ${options.maxFileStoreBytes} bytes), stream ${streamName}`);
  // The audit stream, as the auth service creates it in a deployment: without it every command's
  // audit record stays in the registry's spool and each one is retried against "no responders".
  const admin = await nats.connect('admin');
  try {
    await (await jetstreamManager(admin)).streams.add({
      name: auditStreamName(streamName),
      subjects: [`${subjectPrefix}.audit.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: 1,
      duplicate_window: 120 * 1e9,
    });
  } finally {
    await admin.close();
  }
  const db = await privateDatabase(note);
  const work = mkdtempSync(join(tmpdir(), 'tp-chaos-'));
  const common = {
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: streamName,
    TP_SUBJECT_PREFIX: subjectPrefix,
    // TP_CHAOS_LOG_LEVEL=info shows the services' boot and shutdown steps in diagnostics.
    TP_LOG_LEVEL: process.env['TP_CHAOS_LOG_LEVEL'] ?? 'warn',
  };
  const registryPort = await freePort();
  const registryEnv = {
    ...common,
    ...nats.envFor('registry'),
    TP_REGISTRY_PORT: String(registryPort),
    TP_REGISTRY_RECONCILE_GRACE_MS: String(options.reconcileGraceMs),
    TP_REGISTRY_RECONCILE_INTERVAL_MS: '500',
    ...(options.idempotencyClaimMs === undefined ? {} : { TP_REGISTRY_IDEMPOTENCY_CLAIM_MS: String(options.idempotencyClaimMs) }),
  };
  const signerPort = await freePort();
  const signerEnv = {
    ...common,
    ...nats.envFor('signer'),
    TP_SIGNER_PORT: String(signerPort),
    TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
    TP_SIGNER_TICK_MS: '250',
    TP_SIGNER_AGENT_PORT: '0',
    TP_SIGNER_AGENT_HOST: '127.0.0.1',
  };
  const registry = new ServiceUnderTest('registry', registryEnv, registryPort, note);
  const signer = new ServiceUnderTest('signer', signerEnv, signerPort, note);
  const destroy = async (): Promise<void> => {
    await signer.stop().catch(() => undefined);
    await registry.stop().catch(() => undefined);
    await nats.stop().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await registry.start();
    await signer.start();
    note(`registry ${registry.url} (boot ${registry.lastBootMs} ms), signer ${signer.url} (boot ${signer.lastBootMs} ms)`);
    const cli = { ...registryEnv, TPCTL_SERVER: registry.url };
    const org = await tpctl(['org', 'create', '--name', 'Chaos', '--output', 'json'], cli);
    if (org.code !== 0) throw new Error(`tpctl org create: ${org.stderr}`);
    const organizationId = (JSON.parse(org.stdout) as { id: string }).id;
    const issued = await tpctl(['token', 'create', '--org', organizationId, '--scopes', 'admin', '--name', 'chaos', '--output', 'json'], cli);
    if (issued.code !== 0) throw new Error(`tpctl token create: ${issued.stderr}`);
    const apiToken = (JSON.parse(issued.stdout) as { token: string }).token;
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${registry.url}/api/v1/organization`, { headers: { authorization: `Bearer ${apiToken}` } }).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('the bootstrap token never became usable');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { nats, db, streamName, subjectPrefix, registry, signer, registryEnv, token: apiToken, organizationId, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

// Repeated faults, on real registry and signer processes with their own nats-server: 20 rounds of
// every database session of both services terminated (pg_terminate_backend: the machine's
// PostgreSQL cannot be restarted, its sessions can), then 20 nats-server restarts (SIGKILL and
// start on the same store). Afterwards both still serve (a trust domain is created, the signer
// gives it an active CA), /readyz is 200, the database pools are back to where they started, no
// process died on the way, and SIGTERM stops each within 10 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createTestDatabase,
  exitCodeOf,
  freePort,
  startPrivateNats,
  startServiceProcess,
  TEST_DATABASE_URL,
  testStreamSettings,
  type PrivateNats,
  type RunningService,
  type TestDatabase,
} from '@trustplane/testkit';
import { bootstrapOrganization, bootstrapToken } from './bootstrap.js';
import { call } from './testing/harness.js';

const ROUNDS = 20;
const REGISTRY_APP = 'faults_registry';
const SIGNER_APP = 'faults_signer';

let nats: PrivateNats;
let db: TestDatabase;
let admin: pg.Client;
const work = mkdtempSync(join(tmpdir(), 'tp-faults-'));
const started: RunningService[] = [];

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The value of one sample of a metric in Prometheus text (0 when absent). */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function metricsOf(service: RunningService): Promise<string> {
  return (await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
}

async function readiness(service: RunningService): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, string> }).checks };
}

/** Connections of the main pool in use (checked out) and clients waiting for one. */
async function poolUse(service: RunningService): Promise<{ inUse: number; waiting: number }> {
  const metrics = await metricsOf(service);
  return {
    inUse: sample(metrics, 'tp_db_pool_connections', { pool: 'main', state: 'in_use' }),
    waiting: sample(metrics, 'tp_db_pool_connections', { pool: 'main', state: 'waiting' }),
  };
}

/** Terminates every session of the two services; returns how many. */
async function terminateSessions(): Promise<number> {
  // Select first, terminate each by pid: never a terminate next to a filter over all sessions.
  const sessions = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = ANY($2)', [db.name, [REGISTRY_APP, SIGNER_APP]]);
  let killed = 0;
  for (const { pid } of sessions.rows) {
    const result = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE pid = $1 AND datname = $2', [pid, db.name]);
    if (result.rows[0]?.done === true) killed += 1;
  }
  return killed;
}

function databaseUrlFor(application: string): string {
  const url = new URL(db.url);
  url.searchParams.set('application_name', application);
  return url.toString();
}

before(async () => {
  nats = await startPrivateNats();
  db = await createTestDatabase('faults');
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
});

after(async () => {
  for (const service of started) if (service.process.exitCode === null && service.process.signalCode === null) await service.stop();
  await admin.end();
  await nats.stop();
  await db.drop();
});

test(`${ROUNDS} database session losses and ${ROUNDS} nats-server restarts in a row: registry and signer still serve, pools at baseline, SIGTERM within 10 s`, async () => {
  const stream = testStreamSettings('faults');
  const common = { TP_EVENT_STREAM: stream.streamName, TP_SUBJECT_PREFIX: stream.subjectPrefix, TP_LOG_LEVEL: 'warn' };
  const registryPort = await freePort();
  const registryEnv = {
    ...nats.envFor('registry'),
    ...common,
    DATABASE_URL: databaseUrlFor(REGISTRY_APP),
    TP_REGISTRY_PORT: String(registryPort),
    // The reconciler holds a transaction open on every pass: terminated under it, too.
    TP_REGISTRY_RECONCILE_INTERVAL_MS: '100',
  };
  const registry = await startServiceProcess('registry', registryEnv, registryPort);
  started.push(registry);
  const signerPort = await freePort();
  const signer = await startServiceProcess(
    'signer',
    {
      ...nats.envFor('signer'),
      ...common,
      DATABASE_URL: databaseUrlFor(SIGNER_APP),
      TP_SIGNER_PORT: String(signerPort),
      TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
      TP_SIGNER_KEY_DIR: join(work, 'keys'),
      TP_SIGNER_KEK_PATH: join(work, 'kek'),
      TP_SIGNER_TICK_MS: '100',
    },
    signerPort,
  );
  started.push(signer);
  const organization = await bootstrapOrganization(registryEnv, 'Faults');
  const token = (await bootstrapToken(registryEnv, { organizationId: organization.id, name: 'test', scopes: ['admin'] })).token;
  await until('the token works', async () => ((await call(registry.url, 'GET', '/api/v1/organization', { token })).status === 200 ? true : undefined));

  /** Creates a trust domain and waits until the signer has given its deployment an active CA. */
  const serveBoth = async (name: string): Promise<void> => {
    let last: unknown;
    // Retried as a client should (tpctl does): with one Idempotency-Key, so an attempt that
    // committed but was answered 503 or 202 comes back as the same trust domain, not a 409.
    const idempotencyKey = `create-${name}`;
    const created = await until(`${name} is created`, async () => {
      const answer = await call(registry.url, 'POST', '/api/v1/trust-domains', { token, body: { name }, headers: { 'idempotency-key': idempotencyKey } });
      last = { status: answer.status, body: answer.json };
      return answer.status === 201 || answer.status === 202 ? answer : undefined;
    }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: last answer ${JSON.stringify(last)}; readiness ${JSON.stringify(await readiness(registry).catch(String))}\n${registry.output().slice(-4_000)}`);
    });
    await until(`${name} gets an active CA from the signer`, async () => {
      const deployments = await call(registry.url, 'GET', `/api/v1/trust-domains/${created.json.id as string}/deployments`, { token });
      const active = (deployments.json?.items as { activeKeys: number }[] | undefined)?.some((d) => d.activeKeys > 0);
      return active === true ? true : undefined;
    }, 20_000);
  };
  await serveBoth('before.example');
  await until('both ready', async () => ((await readiness(registry)).status === 200 && (await readiness(signer)).status === 200 ? true : undefined));
  const baseline = { registry: await poolUse(registry), signer: await poolUse(signer) };
  const phases: string[] = [];
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    phases.push(`${name} ${Math.round(performance.now() - phaseStart)} ms`);
    phaseStart = performance.now();
  };

  // Reads through the API role's pool keep running while the sessions are cut.
  let reading = true;
  const reads = (async () => {
    while (reading) await call(registry.url, 'GET', '/api/v1/trust-domains', { token }).catch(() => undefined);
  })();
  let terminated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    terminated += await terminateSessions();
    await until(`the registry answers after session loss ${round + 1}`, async () => ((await call(registry.url, 'GET', '/api/v1/trust-domains', { token })).status === 200 ? true : undefined));
  }
  reading = false;
  await reads;
  assert.ok(terminated >= ROUNDS * 2, `${terminated} sessions terminated`);
  phase('session losses');

  for (let round = 0; round < ROUNDS; round++) {
    await nats.restart();
    await until(`the registry is back on NATS after restart ${round + 1}`, async () => ((await readiness(registry)).checks['nats'] === 'ok' ? true : undefined));
  }

  phase('nats restarts');
  for (const service of [registry, signer]) {
    assert.equal(service.process.exitCode, null, `${service.url} is still running:\n${service.output().slice(-3_000)}`);
    assert.equal(service.process.signalCode, null);
  }
  await serveBoth('after.example');
  await until('both ready again', async () => ((await readiness(registry)).status === 200 && (await readiness(signer)).status === 200 ? true : undefined), 15_000);
  for (const [name, service] of [['registry', registry], ['signer', signer]] as const) {
    const before = baseline[name];
    const now = await until(`the ${name} pool is back to its baseline`, async () => {
      const use = await poolUse(service);
      return use.inUse <= before.inUse && use.waiting === 0 ? use : undefined;
    }, 10_000).catch(async () => poolUse(service));
    assert.ok(now.inUse <= before.inUse && now.waiting === 0, `${name} pool ${JSON.stringify(now)}, baseline ${JSON.stringify(before)}`);
  }

  phase('served again');
  process.stdout.write(`# ${phases.join(', ')}\n`);
  for (const service of [registry, signer]) {
    const stoppedAt = Date.now();
    service.process.kill('SIGTERM');
    assert.equal(await exitCodeOf(service.process, 10_000), 0, service.output().slice(-2_000));
    assert.ok(Date.now() - stoppedAt < 10_000);
  }
});

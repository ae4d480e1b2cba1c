// `tpctl audit list|verify` as an operator runs them: the tpctl binary against the registry (which
// forwards /api/v1/audit* to the auth service), both as their own processes on real NATS
// JetStream and PostgreSQL. Then the audit path is cut, commands are run, the registry is killed
// with SIGKILL and restarted: the records it spooled before answering reach the chain once each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { auditStreamName } from '@trustplane/bus';
import { bootstrapOrganization, bootstrapToken } from '@trustplane/registry';
import {
  connectTestNats,
  connectTestNatsAs,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  startServiceProcess,
  testAuthEnv,
  testNatsEnv,
  testStreamSettings,
  tpctl,
  type CliResult,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let auth: RunningService;
let authEnv: Record<string, string>;
let authPort: number;
let registryEnv: Record<string, string>;
let org: { id: string; token: string; tokenId: string };
let other: { id: string; token: string; tokenId: string };

/** A record as `tpctl audit list --output json` prints it. */
interface Row {
  seq: number;
  id: string;
  organization_id: string;
  actor: { kind: string; id: string };
  action: string;
  resource: string;
  outcome: string;
  status: number;
  code: string | null;
}

function cli(args: string[], token: string): Promise<CliResult> {
  return tpctl(args, { TPCTL_SERVER: registry.url, TPCTL_TOKEN: token });
}

async function ok(args: string[], token: string): Promise<CliResult> {
  const result = await cli(args, token);
  assert.equal(result.code, 0, `tpctl ${args.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

async function rows(token: string, ...filters: string[]): Promise<Row[]> {
  return JSON.parse((await ok(['audit', 'list', ...filters, '--output', 'json'], token)).stdout) as Row[];
}

async function startAuth(): Promise<RunningService> {
  return startServiceProcess('auth', authEnv, authPort);
}

async function startRegistry(): Promise<RunningService> {
  const port = await freePort();
  return startServiceProcess('registry', { ...registryEnv, TP_REGISTRY_PORT: String(port) }, port);
}

async function organization(name: string): Promise<{ id: string; token: string; tokenId: string }> {
  const created = await bootstrapOrganization(registryEnv, name);
  const token = await bootstrapToken(registryEnv, { organizationId: created.id, name: 'admin', scopes: ['admin'] });
  await eventually(async () => (await cli(['trust-domain', 'list'], token.token)).code === 0, 20_000, 'registry token');
  await eventually(async () => (await cli(['audit', 'list'], token.token)).code === 0, 20_000, 'auth token');
  return { id: created.id, token: token.token, tokenId: token.id };
}

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_tpctl_audit');
  stream = testStreamSettings('e2e_tpctl_audit');
  authPort = await freePort();
  authEnv = testAuthEnv(db, stream, authPort, { TP_AUTH_AUDIT_ANCHOR_INTERVAL_MS: '0' });
  auth = await startAuth();
  registryEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_AUTH_URL: auth.url,
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startRegistry();
  org = await organization('audited');
  other = await organization('bystander');
});

after(async () => {
  for (const service of [registry, auth]) if (service !== undefined) assert.equal(await service.stop(), 0, service.output().slice(-2000));
  await deleteTestStream(nc, auditStreamName(stream.streamName));
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

test('tpctl audit list shows every command with who, what, when and outcome; --actor, --resource, --since and --until filter; another organization sees none of it', async () => {
  const started = new Date(Date.now() - 1000).toISOString();
  const td = JSON.parse((await ok(['trust-domain', 'create', 'audit.example.org', '--output', 'json'], org.token)).stdout) as { id: string };
  const refused = await cli(['trust-domain', 'create', 'audit.example.org'], org.token);
  assert.equal(refused.code, 1);
  const reader = await bootstrapToken(registryEnv, { organizationId: org.id, name: 'reader', scopes: ['trust-domains:read'] });
  await eventually(async () => (await cli(['trust-domain', 'list'], reader.token)).code === 0, 20_000, 'reader token');
  assert.equal((await cli(['trust-domain', 'delete', 'audit.example.org'], reader.token)).code, 1);
  await ok(['trust-domain', 'create', 'bystander.example.org'], other.token);

  let mine: Row[] = [];
  await eventually(async () => (mine = await rows(org.token)).length >= 3, 20_000, 'three records');
  assert.deepEqual(
    mine.map((r) => [r.seq, r.action, r.outcome, r.code, r.actor.id]),
    [
      [1, 'POST /api/v1/trust-domains', 'succeeded', null, org.tokenId],
      [2, 'POST /api/v1/trust-domains', 'refused', 'TRUST_DOMAIN_NAME_TAKEN', org.tokenId],
      [3, 'DELETE /api/v1/trust-domains/:td', 'refused', 'INSUFFICIENT_SCOPE', reader.id],
    ],
  );
  assert.ok(mine.every((r) => r.organization_id === org.id), 'snake_case JSON, one organization');

  // The human table.
  const table = (await ok(['audit', 'list'], org.token)).stdout.trimEnd().split('\n');
  assert.match(table[0] ?? '', /^Seq\s+Time\s+Actor\s+Action\s+Resource\s+Outcome$/);
  assert.match(table[2] ?? '', new RegExp(`^2\\s+\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z\\s+${org.tokenId}\\s+POST /api/v1/trust-domains\\s+/api/v1/trust-domains\\s+refused \\(TRUST_DOMAIN_NAME_TAKEN\\)$`));
  assert.equal(table.at(-1), '3 audit records found.');

  // Filters.
  assert.deepEqual((await rows(org.token, '--actor', reader.id)).map((r) => r.seq), [3]);
  assert.deepEqual((await rows(org.token, '--resource', td.id)).map((r) => r.seq), [3]);
  assert.deepEqual((await rows(org.token, '--since', started)).map((r) => r.seq), [1, 2, 3]);
  assert.deepEqual((await rows(org.token, '--since', '1h')).map((r) => r.seq), [1, 2, 3]);
  assert.deepEqual(await rows(org.token, '--since', new Date(Date.now() + 60_000).toISOString()), []);
  assert.deepEqual(await rows(org.token, '--since', '2000-01-01', '--until', started), []);
  assert.equal((await ok(['audit', 'list', '--until', started], org.token)).stdout, 'No audit records found.\n');
  // Bad filters are refused before anything is sent, with a typed error.
  for (const bad of [['--actor', 'nobody'], ['--since', 'yesterday'], ['--until', '12']]) {
    const result = await cli(['audit', 'list', ...bad], org.token);
    assert.equal(result.code, 1, bad.join(' '));
    assert.match(result.stderr, /\(INVALID_ARGUMENT\)/);
  }
  // A token without audit:read is refused.
  const noScope = await cli(['audit', 'list'], reader.token);
  assert.equal(noScope.code, 1);
  assert.match(noScope.stderr, /INSUFFICIENT_SCOPE/);

  // Tenancy: the bystander sees its own record only, never ours, whatever it filters on.
  const theirs = await rows(other.token);
  assert.deepEqual(theirs.map((r) => [r.seq, r.resource]), [[1, '/api/v1/trust-domains']]);
  assert.deepEqual(await rows(other.token, '--actor', org.tokenId), []);
  assert.deepEqual(await rows(other.token, '--resource', td.id), []);
  const theirVerdict = JSON.parse((await ok(['audit', 'verify', '--output', 'json'], other.token)).stdout) as { ok: boolean; checked: number };
  assert.deepEqual([theirVerdict.ok, theirVerdict.checked], [true, 1]);
});

test('tpctl audit verify: ok with the count and the anchor; a row edited in PostgreSQL makes it exit non-zero naming the record', async () => {
  const count = (await rows(org.token)).length;
  const clean = await ok(['audit', 'verify'], org.token);
  assert.equal(clean.stdout, `Audit chain OK: ${count} records checked, not anchored yet.\n`);
  const anchored = await fetch(`${registry.url}/api/v1/audit/anchor`, { method: 'POST', headers: { authorization: `Bearer ${org.token}` } });
  assert.equal(anchored.status, 200);
  assert.equal((await ok(['audit', 'verify'], org.token)).stdout, `Audit chain OK: ${count} records checked, anchored up to seq ${count}.\n`);

  const target = (await rows(org.token)).find((r) => r.seq === 2)!;
  await db.pool.query(`UPDATE auth.audit_records SET outcome = 'succeeded', status = 201, code = NULL WHERE tenant_id = $1 AND seq = 2`, [org.id]);
  try {
    const broken = await cli(['audit', 'verify'], org.token);
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, new RegExp(`^Audit chain BROKEN at seq 2 \\(record ${target.id}: POST /api/v1/trust-domains /api/v1/trust-domains at `));
    assert.match(broken.stdout, /^Reason:\s+RECORD_EDITED: /m);
    assert.match(broken.stdout, /^Checked: 1 record good before it, anchored up to seq \d+$/m);
    assert.equal(broken.stderr, `Error: audit chain broken at seq 2 (record ${target.id}) (RECORD_EDITED)\n`);
    const json = await cli(['audit', 'verify', '--output', 'json'], org.token);
    assert.equal(json.code, 1);
    const verdict = JSON.parse(json.stdout) as { ok: boolean; first_bad_seq: number; reason: string; record: { id: string } };
    assert.deepEqual([verdict.ok, verdict.first_bad_seq, verdict.reason, verdict.record.id], [false, 2, 'RECORD_EDITED', target.id]);
    // The other organization's chain is not touched by ours being broken.
    assert.equal((await cli(['audit', 'verify'], other.token)).code, 0);
  } finally {
    await db.pool.query(`UPDATE auth.audit_records SET outcome = $2, status = $3, code = $4 WHERE tenant_id = $1 AND seq = 2`, [org.id, target.outcome, target.status, target.code]);
  }
  await ok(['audit', 'verify'], org.token);
});

test('durable audit: commands answered while the audit stream is unreachable are spooled; after SIGKILL and a restart each reaches the chain exactly once', async () => {
  const before = await rows(org.token);
  await eventually(async () => (await db.pool.query(`SELECT 1 FROM registry.audit_spool`)).rowCount === 0, 10_000, 'spool empty');
  // Cut the audit path: the auth service stops and its stream is gone, so every publish fails.
  assert.equal(await auth.stop(), 0, auth.output().slice(-2000));
  await deleteTestStream(nc, auditStreamName(stream.streamName));

  await ok(['trust-domain', 'create', 'spooled-1.example.org'], org.token);
  assert.equal((await cli(['trust-domain', 'create', 'spooled-1.example.org'], org.token)).code, 1);
  await ok(['trust-domain', 'create', 'spooled-2.example.org'], org.token);
  // Spooled before each answer went out: the rows are there as soon as tpctl returns.
  const spooled = await db.pool.query<{ record: { id: string; resource: string; status: number } }>(`SELECT record FROM registry.audit_spool ORDER BY position`);
  assert.deepEqual(spooled.rows.map((r) => r.record.status), [201, 409, 201]);
  const ids = spooled.rows.map((r) => r.record.id);

  registry.process.kill('SIGKILL');
  await once(registry.process, 'exit');

  auth = await startAuth();
  // The worst moment: the first record was published and the process died before removing it
  // from the spool (published here by hand, as the registry's bus user, under the same id).
  const registryNc = await connectTestNatsAs('registry');
  try {
    const first = (await db.pool.query<{ record: unknown }>(`SELECT record FROM registry.audit_spool WHERE record_id = $1`, [ids[0]])).rows[0]!.record;
    await jetstream(registryNc).publish(`${stream.subjectPrefix}.audit.registry.${org.id}`, JSON.stringify(first), { msgID: ids[0] });
  } finally {
    await registryNc.close();
  }
  registry = await startRegistry();

  await eventually(async () => (await db.pool.query(`SELECT 1 FROM registry.audit_spool`)).rowCount === 0, 30_000, 'spool published');
  let after: Row[] = [];
  await eventually(async () => (after = await rows(org.token)).length >= before.length + 3, 30_000, 'spooled records chained');
  const added = after.slice(before.length);
  assert.deepEqual(added.map((r) => r.id), ids, 'each spooled record once, in order');
  assert.deepEqual(after.map((r) => r.seq), after.map((_, i) => i + 1));
  assert.deepEqual(added.map((r) => [r.action, r.status]), [
    ['POST /api/v1/trust-domains', 201],
    ['POST /api/v1/trust-domains', 409],
    ['POST /api/v1/trust-domains', 201],
  ]);
  // A little later still nothing doubled (the re-sent first record is stored once).
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await rows(org.token)).length, after.length);
  const verdict = await ok(['audit', 'verify'], org.token);
  assert.match(verdict.stdout, new RegExp(`^Audit chain OK: ${after.length} records checked`));
});

// The operator story end to end: tpctl as a subprocess against the registry running as its
// own process on real NATS JetStream and PostgreSQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectTestNats,
  repoRoot,
  createTestDatabase,
  deleteTestStream,
  testNatsEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { freePort, startServiceProcess, tpctl, type CliResult, type RunningService } from '@trustplane/testkit';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let serviceEnv: Record<string, string>;
let cliEnv: Record<string, string>;

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_tpctl');
  stream = testStreamSettings('e2e_tpctl');
  const port = await freePort();
  serviceEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: 'https://trust.example.com',
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startServiceProcess('registry', serviceEnv, port);
  cliEnv = { ...serviceEnv, TPCTL_SERVER: registry.url };
});

after(async () => {
  const code = await registry.stop();
  assert.equal(code, 0, `graceful shutdown: ${registry.output()}`);
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

async function ok(args: string[]): Promise<CliResult> {
  const result = await tpctl(args, cliEnv);
  assert.equal(result.code, 0, `tpctl ${args.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok([...args, '--output', 'json'])).stdout) as T;
}

test('operator story: org, token, trust domain, cluster, entries, refusal, clean-up', async () => {
  // A fresh install refuses everything without a token.
  const refused = await tpctl(['trust-domain', 'list'], cliEnv);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /UNAUTHENTICATED/);

  // Host-local bootstrap through the event log.
  const org = await json<{ id: string; name: string }>(['org', 'create', '--name', 'Acme']);
  assert.match(org.id, /^t-[0-9a-z]{10}$/);
  const token = await json<{ id: string; token: string }>(['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'bootstrap']);
  assert.match(token.token, /^tp_tok-/);
  cliEnv['TPCTL_TOKEN'] = token.token;
  for (let i = 0; i < 100 && (await tpctl(['trust-domain', 'list'], cliEnv)).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));

  const created = await ok(['trust-domain', 'create', 'example.org', '--description', 'Production workloads']);
  assert.match(created.stdout, /example\.org/);
  assert.match(created.stdout, /td-[0-9a-z]{10}/);

  const list = await ok(['trust-domain', 'list']);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^Name\s+ID\s+State\s+Self-hosted\s+Clusters\s+Federations$/);
  assert.match(lines[1] ?? '', /^example\.org\s+td-[0-9a-z]{10}\s+provisioning\s+false\s+0\/0\s+0\/0$/);
  assert.equal(lines.at(-1), '1 trust domain found.');
  const [td] = await json<{ id: string; name: string; status: string }[]>(['trust-domain', 'list']);
  assert.equal(td?.name, 'example.org');

  const info = await ok(['trust-domain', 'info', 'example.org', '--show-deployments']);
  assert.match(info.stdout, /Description:\s+Production workloads/);
  assert.match(info.stdout, /Agent Endpoint:\s+trust\.example\.com:8443/);
  // The public bundle / JWKS / OIDC endpoints are not served yet: no URL that would answer 404.
  assert.doesNotMatch(info.stdout, /Bundle Endpoint|JWKS|OIDC|JWT Issuer|https:\/\//);
  assert.match(info.stdout, /^default\s+tdd-[0-9a-z]{10}\s/m, 'the managed deployment is listed');
  const infoJson = await json<{ endpoints: Record<string, string | null> }>(['trust-domain', 'info', 'example.org']);
  assert.deepEqual(infoJson.endpoints, { agent: 'trust.example.com:8443', bundle: null, jwt_issuer: null, jwks: null, oidc_discovery: null });

  const cluster = await json<{ id: string; name: string }>(['cluster', 'create', 'example.org', 'production', '--platform', 'k8s']);
  assert.match(cluster.id, /^c-[0-9a-z]{10}$/);
  const clusters = await ok(['cluster', 'list', 'example.org']);
  assert.match(clusters.stdout, /production/);

  const entryIds: string[] = [];
  for (const [name, uid] of [['payments', '1000'], ['billing', '1001']] as const) {
    const entry = await json<{ id: string; spiffe_id: string; revision: number }>([
      'entry', 'create', 'example.org',
      '--spiffe-id', `spiffe://example.org/${name}`,
      '--parent-id', `spiffe://example.org/agent/production/node-1`,
      '--selector', `unix:uid:${uid}`,
      '--x509-svid-ttl', '3600',
    ]);
    assert.equal(entry.spiffe_id, `spiffe://example.org/${name}`);
    assert.equal(entry.revision, 1);
    entryIds.push(entry.id);
  }
  const entries = await ok(['entry', 'list', 'example.org']);
  assert.match(entries.stdout, /spiffe:\/\/example\.org\/payments/);
  assert.match(entries.stdout.trimEnd().split('\n').at(-1) ?? '', /^2 entries found\.$/);
  const updated = await json<{ revision: number; selectors: string[] }>(['entry', 'update', entryIds[0] ?? '', '--selector', 'unix:uid:2000']);
  assert.equal(updated.revision, 2);
  assert.deepEqual(updated.selectors, ['unix:uid:2000']);

  // Invalid input is refused with the rule that failed.
  const badEntry = await tpctl(['entry', 'create', 'example.org', '--spiffe-id', 'spiffe://other.org/x', '--parent-id', 'spiffe://example.org/agent/a', '--selector', 'unix:uid:1'], cliEnv);
  assert.equal(badEntry.code, 1);
  assert.match(badEntry.stderr, /ENTRY_INVALID/);
  const badTd = await tpctl(['trust-domain', 'create', 'Example.ORG'], cliEnv);
  assert.equal(badTd.code, 1);
  assert.match(badTd.stderr, /TRUST_DOMAIN_NAME_INVALID/);

  // Deleting the trust domain is refused while the cluster remains, naming it.
  const refusal = await tpctl(['trust-domain', 'delete', 'example.org'], cliEnv);
  assert.equal(refusal.code, 1);
  assert.match(
    refusal.stderr,
    new RegExp(`Trust domain has clusters in use; delete all clusters \\(production ${cluster.id}\\) before trying again`),
  );

  // Clean up, then delete: entries do not block the deletion, they go with the trust domain.
  await ok(['entry', 'delete', entryIds[0] ?? '']);
  assert.match((await ok(['entry', 'list', 'example.org'])).stdout, /1 entry found\./);
  await ok(['cluster', 'disable', 'example.org', cluster.id]);
  await ok(['cluster', 'delete', 'example.org', cluster.id]);
  const deleted = await ok(['trust-domain', 'delete', 'example.org']);
  assert.match(deleted.stdout, /Trust domain example\.org \(td-[0-9a-z]{10}\) deleted\./);
  assert.match((await ok(['trust-domain', 'list'])).stdout, /No trust domains found\./);
  const leftBehind = await tpctl(['entry', 'show', entryIds[1] ?? ''], cliEnv);
  assert.equal(leftBehind.code, 1, `the entry of the deleted trust domain is gone: ${leftBehind.stdout}`);
  assert.match(leftBehind.stderr, /ENTRY_NOT_FOUND/);
});

test('tpctl as Node users run it: `npx tpctl` in the repo, and `npm pack` → `npm install -g` offline into a temp prefix', async () => {
  const npxRun = spawnSync('npx', ['--no', '--', 'tpctl', '--version'], { cwd: repoRoot(), encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' } });
  assert.equal(npxRun.status, 0, npxRun.stderr);
  assert.equal(npxRun.stdout.trim(), '0.1.0');

  const work = mkdtempSync(join(tmpdir(), 'tp-tpctl-pack-'));
  // An empty npm cache and --offline: whatever the tarball does not carry cannot be installed.
  const npmEnv = { PATH: process.env['PATH'] ?? '', HOME: work, npm_config_cache: join(work, 'cache'), npm_config_update_notifier: 'false' };
  // Packed from a copy, so staging the bundled dependencies never touches the checkout that
  // other test files run tpctl from at the same time.
  const source = join(repoRoot(), 'cli', 'tpctl');
  const copy = join(work, 'tpctl');
  for (const entry of ['package.json', 'README.md', 'bin', 'dist', 'scripts']) cpSync(join(source, entry), join(copy, entry), { recursive: true });
  const packed = spawnSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: copy, encoding: 'utf8', env: { ...npmEnv, TPCTL_SOURCE_DIR: source }, timeout: 120_000 });
  assert.equal(packed.status, 0, packed.stderr);
  const [tarball] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; bundled: string[]; files: { path: string; mode: number }[] }[];
  assert.ok(tarball);
  assert.deepEqual([...tarball.bundled].sort(), ['@trustplane/spiffe', 'commander', 'yaml']);
  const paths = tarball.files.map((f) => f.path);
  for (const needed of ['bin/tpctl.js', 'dist/main.js', 'dist/cli.js', 'node_modules/@trustplane/spiffe/dist/index.js', 'node_modules/commander/package.json', 'node_modules/yaml/package.json']) {
    assert.ok(paths.includes(needed), `the tarball carries ${needed}`);
  }
  assert.equal((tarball.files.find((f) => f.path === 'bin/tpctl.js')?.mode ?? 0) & 0o111, 0o111, 'bin/tpctl.js is executable');
  assert.deepEqual(paths.filter((p) => /\.spec\.|\.tsbuildinfo$|\.map$|^src\/|\/src\//.test(p)), [], 'no tests, sources, maps or build info');
  assert.equal(existsSync(join(copy, 'node_modules')), false, 'postpack removed the staged dependencies');
  assert.equal(existsSync(join(source, 'node_modules')), false, 'nothing was staged into the checkout');

  const prefix = join(work, 'prefix');
  const installed = spawnSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(work, tarball.filename)], { cwd: work, encoding: 'utf8', env: npmEnv, timeout: 120_000 });
  assert.equal(installed.status, 0, installed.stdout + installed.stderr);
  const bin = join(prefix, 'bin', 'tpctl');
  const run = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync(bin, args, { cwd: work, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: work, TPCTL_SERVER: registry.url, TPCTL_TOKEN: cliEnv['TPCTL_TOKEN'] ?? '' } });
  assert.equal(run(['--version']).stdout.trim(), '0.1.0');
  const created = run(['trust-domain', 'create', 'packaged.example', '--output', 'json']);
  assert.equal(created.status, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as { name: string }).name, 'packaged.example');
  assert.match(run(['trust-domain', 'list']).stdout, /^packaged\.example\s+td-[0-9a-z]{10}\s/m);
  // The host-local bootstrap needs the registry's code, which a standalone install does not carry: a clear refusal.
  const bootstrap = run(['org', 'create', '--name', 'Elsewhere']);
  assert.equal(bootstrap.status, 1);
  assert.match(bootstrap.stderr, /on the registry host.*\(BOOTSTRAP_UNAVAILABLE\)/s);
});

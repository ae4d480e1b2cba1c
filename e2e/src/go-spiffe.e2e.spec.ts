// The reference SPIFFE library against our agent: go-spiffe (e2e/go, built once per run of this
// file and cached under .local/go-interop) runs as workloads of several uids against the real
// registry, signer and agent processes, set up with tpctl as an operator would. X509Source and
// JWTSource on the agent's socket, jwtsvid.ParseAndValidate with FetchJWTBundles,
// ValidateJWTSVID, spiffetls mutual TLS authorizing by SPIFFE ID, and a forced CA rotation in the
// middle of a conversation. Needs Go and root (to switch uids): skipped without them locally,
// failed under CI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  repoRoot,
  requirePrerequisite,
  skipUnlessCi,
  startAgentProcess,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  tpctl,
  type RunningAgent,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

const TD = 'go.example';
const PARENT = `spiffe://${TD}/agent/edge/node-1`;
const FRONTEND = { id: `spiffe://${TD}/frontend`, uid: 1001 };
const BACKEND = { id: `spiffe://${TD}/backend`, uid: 1002 };
const INSPECTOR = { id: `spiffe://${TD}/inspector`, uid: 1003 };
const INTRUDER = { id: `spiffe://${TD}/intruder`, uid: 1004 };

/** The Go toolchain: the machine's /usr/local/go, else `go` on the PATH. */
function goBinary(): string | undefined {
  for (const candidate of ['/usr/local/go/bin/go', 'go']) {
    if (spawnSync(candidate, ['version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return undefined;
}

const GO = goBinary();
const missing =
  GO === undefined ? 'the Go toolchain (/usr/local/go/bin/go or go on the PATH)' : process.getuid?.() !== 0 ? 'root, to run the Go workloads under other uids' : false;

/**
 * Builds e2e/go once per content (sources, go.sum, Go version) into .local/go-interop and returns
 * a copy every uid can execute. Modules come from the Go module proxy (or the module cache).
 */
function buildInterop(go: string, into: string): string {
  const source = join(repoRoot(), 'e2e', 'go');
  const hash = createHash('sha256').update(spawnSync(go, ['version'], { encoding: 'utf8' }).stdout);
  for (const name of readdirSync(source).filter((n) => /\.go$|^go\.(mod|sum)$/.test(n)).sort()) hash.update(name).update(readFileSync(join(source, name)));
  const cacheDir = join(repoRoot(), '.local', 'go-interop');
  const cached = join(cacheDir, `interop-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(cached)) {
    mkdirSync(cacheDir, { recursive: true });
    const build = spawnSync(go, ['build', '-p', '1', '-trimpath', '-o', `${cached}.tmp`, '.'], {
      cwd: source,
      encoding: 'utf8',
      // One package at a time (other test files share the two cores), no toolchain download,
      // go.mod/go.sum as committed, a static binary.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
      timeout: 600_000,
    });
    assert.equal(build.status, 0, `go build of e2e/go failed:\n${build.stdout}${build.stderr}`);
    renameSync(`${cached}.tmp`, cached);
  }
  const bin = join(into, 'interop');
  copyFileSync(cached, bin);
  chmodSync(bin, 0o755);
  return bin;
}

type Line = Record<string, unknown>;

/** A go-spiffe workload process running as `uid`, its stdout read as JSON lines. */
class GoWorkload {
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(bin: string, uid: number, args: string[], cwd: string) {
    this.child = spawn(bin, args, { uid, gid: uid, cwd, env: { PATH: '/usr/bin:/bin' }, stdio: 'pipe' });
    let pending = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete.filter((l) => l.trim() !== '')) this.lines.push(JSON.parse(line) as Line);
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  async waitFor(what: string, match: (line: Line) => boolean, timeoutMs = 20_000): Promise<Line> {
    await eventually(() => this.lines.some(match) || this.child.exitCode !== null, timeoutMs, what);
    const line = this.lines.find(match);
    assert.ok(line, `${what}: the workload exited (${this.child.exitCode}) ${JSON.stringify(this.lines)} ${this.stderr}`);
    return line;
  }

  /** Closes stdin (the workload's signal to finish) and waits for the exit code. */
  async finish(timeoutMs = 20_000): Promise<number | null> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

describe('go-spiffe (the reference SPIFFE library) against the real agent', { skip: skipUnlessCi(missing) }, () => {
  let nc: NatsConnection;
  let db: TestDatabase;
  let stream: TestStream;
  let registry: RunningService;
  let signer: RunningService;
  let agent: RunningAgent;
  let cliEnv: Record<string, string>;
  let bin: string;
  let work: string;
  let server: GoWorkload | undefined;
  let serverAddress: string;
  const workloads: GoWorkload[] = [];

  async function cli<T>(args: string[]): Promise<T> {
    const result = await tpctl([...args, '--output', 'json'], cliEnv);
    assert.equal(result.code, 0, `tpctl ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  async function runOnce(uid: number, args: string[]): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
    const workload = new GoWorkload(bin, uid, args, work);
    workloads.push(workload);
    const code = await workload.finish(60_000);
    return { code, lines: workload.lines, stderr: workload.stderr };
  }

  async function agentMetric(name: string): Promise<number> {
    const text = await (await fetch(`${agent.healthUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    if (line === undefined) throw new Error(`no ${name} on the agent's /metrics`);
    return Number(line.split(' ').at(-1));
  }

  before(async () => {
    requirePrerequisite(missing);
    work = mkdtempSync(join(tmpdir(), 'tp-go-'));
    // Workloads of other uids reach the socket in here and execute the binary copied here.
    chmodSync(work, 0o755);
    bin = buildInterop(GO ?? 'go', work);

    nc = await connectTestNats();
    db = await createTestDatabase('e2e_go_spiffe');
    stream = testStreamSettings('e2e_go_spiffe');
    const [registryPort, signerPort, agentApiPort] = [await freePort(), await freePort(), await freePort()];
    const serviceEnv = {
      ...testNatsEnv(),
      DATABASE_URL: db.url,
      TP_EVENT_STREAM: stream.streamName,
      TP_SUBJECT_PREFIX: stream.subjectPrefix,
      TP_LOG_LEVEL: 'warn',
    };
    registry = await startServiceProcess('registry', { ...serviceEnv, TP_REGISTRY_PORT: String(registryPort), TP_REGISTRY_PUBLIC_BASE_URL: `http://127.0.0.1:${registryPort}` }, registryPort);
    signer = await startServiceProcess(
      'signer',
      {
        ...serviceEnv,
        TP_SIGNER_PORT: String(signerPort),
        TP_SIGNER_AGENT_PORT: String(agentApiPort),
        TP_SIGNER_AGENT_HOST: '127.0.0.1',
        TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
        TP_SIGNER_KEY_DIR: join(work, 'keys'),
        TP_SIGNER_KEK_PATH: join(work, 'kek'),
      },
      signerPort,
    );
    cliEnv = { ...serviceEnv, TPCTL_SERVER: registry.url };

    // The operator's side, as in the README: organization, token, trust domain, cluster, join token, bundle.
    const org = await cli<{ id: string }>(['org', 'create', '--name', 'Interop']);
    const token = await cli<{ token: string }>(['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'interop']);
    cliEnv['TPCTL_TOKEN'] = token.token;
    await eventually(async () => (await tpctl(['trust-domain', 'list'], cliEnv)).code === 0, 10_000, 'token usable');
    const td = await cli<{ id: string }>(['trust-domain', 'create', TD]);
    await eventually(async () => (await cli<{ status: string }>(['trust-domain', 'info', TD])).status === 'available', 30_000, 'trust domain available');
    const cluster = await cli<{ id: string }>(['cluster', 'create', TD, 'edge', '--platform', 'linux']);
    const joinToken = await cli<{ token: string }>(['cluster', 'join-token', 'create', '--cluster', 'edge', '--trust-domain', TD]);
    const bundle = await tpctl(['trust-domain', 'bundle', TD], cliEnv);
    assert.equal(bundle.code, 0, bundle.stderr);
    writeFileSync(join(work, 'bundle.pem'), bundle.stdout);

    agent = await startAgentProcess(
      {
        TP_LOG_LEVEL: 'warn',
        TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentApiPort}`,
        TP_AGENT_TRUST_DOMAIN_ID: td.id,
        TP_AGENT_TRUST_DOMAIN: TD,
        TP_AGENT_CLUSTER_ID: cluster.id,
        TP_AGENT_NODE_NAME: 'node-1',
        TP_AGENT_JOIN_TOKEN: joinToken.token,
        TP_AGENT_TRUST_BUNDLE_PATH: join(work, 'bundle.pem'),
        TP_AGENT_DATA_DIR: join(work, 'agent'),
      },
      { healthPort: await freePort(), socketPath: join(work, 'agent.sock') },
    );
    for (const workload of [FRONTEND, BACKEND, INSPECTOR, INTRUDER]) {
      await cli(['entry', 'create', TD, '--spiffe-id', workload.id, '--parent-id', PARENT, '--selector', `unix:uid:${workload.uid}`]);
    }
    await eventually(async () => (await agentMetric('tp_agent_x509_svids')) === 4, 20_000, 'the agent holds an SVID for each entry');
  });

  after(async () => {
    for (const workload of [...workloads, ...(server === undefined ? [] : [server])]) workload.kill();
    await agent?.stop();
    await signer?.stop();
    await registry?.stop();
    if (stream !== undefined) await deleteTestStream(nc, stream.streamName);
    await nc?.close();
    await db?.drop();
  });

  test('X509Source, JWTSource, FetchJWTBundles + jwtsvid.ParseAndValidate and ValidateJWTSVID on the agent socket', async () => {
    const run = await runOnce(INSPECTOR.uid, ['inspect', '-socket', agent.socketPath, '-audience', 'spiffe://go.example/backend']);
    assert.equal(run.code, 0, `${JSON.stringify(run.lines)}\n${run.stderr}`);
    const report = run.lines.at(-1) ?? {};
    assert.equal(report['x509_id'], INSPECTOR.id, 'the uid gets its own identity');
    assert.equal(report['x509_uri_sans'], 1);
    assert.equal(report['x509_is_ca'], false);
    assert.equal(report['x509_verify_error'], '', 'x509svid.Verify accepts the SVID against the bundle from the source');
    assert.equal(report['x509_verified_id'], INSPECTOR.id);
    assert.deepEqual(report['x509_context_ids'], [INSPECTOR.id], 'FetchX509Context: only this workload’s SVID');
    assert.deepEqual(report['x509_bundle_trust_domains'], [`spiffe://${TD}`], 'own bundle only: no federation relationships exist yet');
    assert.ok(Number(report['x509_authorities']) >= 1);

    assert.equal(report['jwt_id'], INSPECTOR.id);
    assert.deepEqual(report['jwt_audience'], ['spiffe://go.example/backend']);
    assert.ok(Number(report['jwt_expires_in_s']) > 0 && Number(report['jwt_expires_in_s']) <= 300, `JWT-SVID TTL ${String(report['jwt_expires_in_s'])} s`);
    assert.deepEqual(report['jwt_bundle_trust_domains'], [`spiffe://${TD}`]);
    assert.equal(report['jwt_parse_and_validate_error'], '', 'jwtsvid.ParseAndValidate with the bundles of FetchJWTBundles');
    assert.equal(report['jwt_parsed_id'], INSPECTOR.id);
    assert.equal(report['jwt_validate_with_source_error'], '', 'and with the JWTSource as the bundle source');
    assert.match(String(report['jwt_wrong_audience_local']), /audience/i);
    assert.notEqual(report['jwt_tampered_local'], '', 'a tampered token fails locally');

    assert.equal(report['validate_error'], '', 'ValidateJWTSVID on the agent accepts the token');
    assert.equal(report['validated_id'], INSPECTOR.id);
    assert.match(String(report['validate_tampered']), /InvalidArgument/, 'the agent refuses a tampered token');
    assert.match(String(report['validate_wrong_audience']), /InvalidArgument/, 'and a token for another audience');
    // TODO(federation): when federation relationships exist, register an entry that federates
    // with a second trust domain and assert its bundle in FetchX509Context and FetchJWTBundles.
  });

  test('two go-spiffe workloads (different uids) talk mutual TLS with spiffetls, each authorizing the other by SPIFFE ID', async () => {
    server = new GoWorkload(bin, BACKEND.uid, ['server', '-socket', agent.socketPath, '-addr', `127.0.0.1:${await freePort()}`, '-allow', FRONTEND.id], work);
    const listening = await server.waitFor('server listening', (l) => l['event'] === 'listening');
    assert.equal(listening['id'], BACKEND.id);
    serverAddress = String(listening['addr']);

    const frontend = await runOnce(FRONTEND.uid, ['dial', '-socket', agent.socketPath, '-addr', serverAddress, '-server-id', BACKEND.id]);
    assert.equal(frontend.code, 0, JSON.stringify(frontend.lines) + frontend.stderr);
    assert.deepEqual(frontend.lines.at(-1), { event: 'exchanged', server: BACKEND.id, peer: FRONTEND.id });

    // The server accepts only the frontend: another workload of the trust domain is refused.
    const intruder = await runOnce(INTRUDER.uid, ['dial', '-socket', agent.socketPath, '-addr', serverAddress, '-server-id', BACKEND.id]);
    assert.notEqual(intruder.code, 0, JSON.stringify(intruder.lines));
    await server.waitFor('the server refused the intruder', (l) => l['event'] === 'refused' && String(l['error']).includes(INTRUDER.id));

    // The client accepts only the backend: expecting another ID, it refuses this server.
    const wrongServer = await runOnce(FRONTEND.uid, ['dial', '-socket', agent.socketPath, '-addr', serverAddress, '-server-id', `spiffe://${TD}/payments`]);
    assert.notEqual(wrongServer.code, 0);
    assert.match(String(wrongServer.lines.at(-1)?.['error']), /unexpected ID/);
  });

  test('a forced CA rotation mid-conversation: the open connection keeps working, new handshakes present SVIDs of the new CA', async () => {
    assert.ok(server !== undefined, 'the server of the previous test runs');
    const client = new GoWorkload(bin, FRONTEND.uid, ['client', '-socket', agent.socketPath, '-addr', serverAddress, '-server-id', BACKEND.id, '-every', '250ms'], work);
    workloads.push(client);
    const first = await client.waitFor('first rounds', (l) => Number(l['round']) >= 3 && l['fresh'] === 'ok');
    const clientCa = String(first['clientAuthority']);
    const serverCa = String(first['freshServerAuthority']);
    assert.equal(clientCa, serverCa, 'both SVIDs come from the one active CA');

    const [deployment] = await cli<{ id: string }[]>(['trust-domain', 'deployment', 'list', TD]);
    assert.ok(deployment);
    const listed = await cli<{ id: string; state: string }[] | { items: { id: string; state: string }[] }>(['trust-domain', 'deployment', 'keyset', 'list', TD, deployment.id]);
    const active = (Array.isArray(listed) ? listed : listed.items).find((k) => k.state === 'active');
    assert.ok(active);
    const tainted = await tpctl(['trust-domain', 'deployment', 'keyset', 'taint', TD, deployment.id, active.id], cliEnv);
    assert.equal(tainted.code, 0, tainted.stderr);

    const rotated = await client.waitFor(
      'rounds with both SVIDs from the new CA',
      (l) => l['fresh'] === 'ok' && l['clientAuthority'] !== clientCa && l['freshServerAuthority'] !== serverCa && l['freshServerAuthority'] === l['clientAuthority'],
      30_000,
    );
    await client.waitFor('more rounds after the rotation', (l) => Number(l['round']) >= Number(rotated['round']) + 3);
    assert.equal(await client.finish(), 0, `${JSON.stringify(client.lines.slice(-5))}\n${client.stderr}`);
    const rounds = client.lines.filter((l) => typeof l['round'] === 'number');
    assert.deepEqual(
      rounds.filter((l) => l['persistent'] !== 'ok'),
      [],
      'the connection opened before the rotation answered in every round',
    );
    assert.ok(rounds.every((l) => l['persistentServer'] === BACKEND.id && (l['fresh'] !== 'ok' || l['peerSeenByServer'] === FRONTEND.id)));
    assert.deepEqual(client.lines.at(-1), { event: 'done', rounds: rounds.length, failures: 0 });
  });
});

// The hosted product's trust-domain guide as a test: every `spirlctl` command it shows
// (e2e/fixtures/spirlctl-guide.json) runs verbatim under bash with `tpctl` in its place, against
// the registry as its own process on real NATS JetStream and PostgreSQL, and its output must
// carry the guide's fields, columns and JSON names. Commands that need the deployment-key (auth)
// service are listed in the fixture with that reason and reported as skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  freePort,
  repoRoot,
  startServiceProcess,
  testNatsEnv,
  testStreamSettings,
  tpctl,
  tpctlBin,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

/** One step of the fixture. */
interface Step {
  /** Where the command starts in the guide. */
  guideLine?: number;
  /** The guide's command (with `spirlctl`), possibly a shell loop. */
  command?: string;
  /** Our own preparation (tpctl), not from the guide. */
  setup?: string;
  /** Why the command cannot run on this branch. */
  skip?: string;
  exit?: number;
  stdout?: string[];
  stderr?: string[];
  /** Rerun (the command or `rerun`) with `--output json` and check these fields. */
  json?: { fields: string[]; rerun?: string };
  /** Files the command writes and what they must hold. */
  files?: Record<string, string[]>;
}

const fixture = JSON.parse(readFileSync(join(repoRoot(), 'e2e', 'fixtures', 'spirlctl-guide.json'), 'utf8')) as { steps: Step[] };

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let registry: RunningService;
let env: Record<string, string>;
let work: string;

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_guide');
  stream = testStreamSettings('e2e_guide');
  const port = await freePort();
  const serviceEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: 'https://trust.example.com',
    TP_LOG_LEVEL: 'warn',
  };
  registry = await startServiceProcess('registry', serviceEnv, port);
  const org = JSON.parse((await tpctl(['org', 'create', '--name', 'Guide', '--output', 'json'], serviceEnv)).stdout) as { id: string };
  const token = JSON.parse((await tpctl(['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'guide', '--output', 'json'], serviceEnv)).stdout) as { token: string };
  work = mkdtempSync(join(tmpdir(), 'tp-guide-'));
  env = {
    // `tpctl` on the PATH is the installed command (node_modules/.bin/tpctl).
    PATH: `${dirname(tpctlBin())}:${process.env['PATH'] ?? ''}`,
    HOME: work,
    TPCTL_SERVER: registry.url,
    TPCTL_TOKEN: token.token,
  };
  for (let i = 0; i < 100 && (await tpctl(['whoami'], env)).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
});

after(async () => {
  const code = await registry.stop();
  assert.equal(code, 0, `graceful shutdown: ${registry.output()}`);
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

/** Runs a shell snippet in the work directory; `spirlctl` becomes `tpctl`. */
function shell(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script.replaceAll('spirlctl', 'tpctl')], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Field names that are not snake_case, anywhere in a JSON value (user documents aside). */
function camelCaseKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => camelCaseKeys(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => [
    ...(/[A-Z]/.test(key) ? [`${path}.${key}`] : []),
    ...(key === 'config' || key === 'spec' ? [] : camelCaseKeys(item, `${path}.${key}`)),
  ]);
}

function matchAll(text: string, patterns: readonly string[] | undefined, what: string): void {
  for (const pattern of patterns ?? []) assert.match(text, new RegExp(pattern, 'm'), `${what} should match /${pattern}/:\n${text}`);
}

test('the fixture holds guide commands only where it says so, each with something to check', () => {
  for (const step of fixture.steps) {
    if (step.setup !== undefined) {
      assert.equal(step.command, undefined);
      assert.doesNotMatch(step.setup, /spirlctl/, 'setup steps are ours, in tpctl');
      continue;
    }
    assert.ok(step.command !== undefined && step.guideLine !== undefined, JSON.stringify(step));
    assert.match(step.command, /(^|\n)spirlctl /, step.command);
    assert.ok((step.stdout?.length ?? 0) + (step.stderr?.length ?? 0) + Object.keys(step.files ?? {}).length > 0, `nothing checked for ${step.command}`);
    if (step.skip !== undefined) assert.match(step.skip, /deployment-key \(auth\) service/, 'the only reason to skip is the key service');
  }
});

test("the guide's commands, verbatim with tpctl, against the registry", async (t) => {
  for (const [index, step] of fixture.steps.entries()) {
    if (step.setup !== undefined) {
      const result = await shell(step.setup);
      assert.equal(result.code, 0, `setup ${index}: ${step.setup}\n${result.stdout}\n${result.stderr}`);
      continue;
    }
    const command = step.command ?? '';
    const name = `guide line ${step.guideLine ?? '?'}: ${command.replace(/\\\n/g, ' ').replace(/\n/g, '; ')}`;
    await t.test(name, step.skip === undefined ? {} : { skip: step.skip }, async () => {
      const result = await shell(command);
      assert.equal(result.code, step.exit ?? 0, `exit code\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      matchAll(result.stdout, step.stdout, 'stdout');
      matchAll(result.stderr, step.stderr, 'stderr');
      for (const [file, patterns] of Object.entries(step.files ?? {})) matchAll(readFileSync(join(work, file), 'utf8'), patterns, file);
      if (step.json !== undefined) {
        const rerun = await shell(`${step.json.rerun ?? command} --output json`);
        assert.equal(rerun.code, 0, rerun.stderr);
        const parsed: unknown = JSON.parse(rerun.stdout);
        assert.deepEqual(camelCaseKeys(parsed), [], 'snake_case field names throughout');
        const items = Array.isArray(parsed) ? parsed : [parsed];
        assert.ok(items.length > 0, 'the JSON has something to check');
        for (const item of items) {
          for (const field of step.json.fields) assert.ok(field in (item as Record<string, unknown>), `JSON field ${field} in ${JSON.stringify(item)}`);
        }
      }
    });
  }
});

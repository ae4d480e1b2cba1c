// The hosted product's trust-domain guide as a test: every `spirlctl` command it shows
// (e2e/fixtures/spirlctl-guide.json) runs verbatim under bash with `tpctl` in its place, against
// the registry and the auth service (deployment keys, forwarded by the registry) as their own
// processes on real NATS JetStream and PostgreSQL, and its output must carry the guide's fields,
// columns and JSON names. The guide's made-up key ids are replaced by the ids of keys created in
// earlier steps (the fixture's `capture`); the keys tpctl created exchange for control-plane
// credentials (libs/auth-client) until they are disabled.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Value } from '@sinclair/typebox/value';
import { AuthClientError, DeploymentCredentialSchema, DeploymentKeySchema, fetchControlPlaneCredential, NewDeploymentKeySchema, signDeploymentAssertion } from '@trustplane/auth-client';
import { auditStreamName } from '@trustplane/bus';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  eventually,
  freePort,
  repoRoot,
  startServiceProcess,
  testAuthEnv,
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
  /** Why the command cannot run here (only: it needs a self-hosted trust-domain server). */
  skip?: string;
  /**
   * Values the output defines for later steps: the guide's placeholder (e.g. its made-up key id
   * `tdk-pfze0ki4lt`) → a regular expression whose first group, matched on stdout, replaces the
   * placeholder in every later command and setup.
   */
  capture?: Record<string, string>;
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
let auth: RunningService;
let env: Record<string, string>;
let work: string;

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('e2e_guide');
  stream = testStreamSettings('e2e_guide');
  const [port, authPort] = [await freePort(), await freePort()];
  auth = await startServiceProcess('auth', testAuthEnv(db, stream, authPort), authPort);
  const serviceEnv = {
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: 'https://trust.example.com',
    TP_REGISTRY_AUTH_URL: auth.url,
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
  // The auth service knows the token once it has projected it: an unknown deployment is then 404, not 401.
  await eventually(
    async () => (await fetch(`${registry.url}/api/v1/trust-domains/none/deployments/none/keys`, { headers: { authorization: `Bearer ${token.token}` } })).status === 404,
    20_000,
    'the auth service knows the token',
  );
});

after(async () => {
  for (const service of [registry, auth]) {
    if (service !== undefined) assert.equal(await service.stop(), 0, `graceful shutdown: ${service.output().slice(-2000)}`);
  }
  await deleteTestStream(nc, auditStreamName(stream.streamName));
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
  for (const pattern of (patterns ?? []).map(substitute)) assert.match(text, new RegExp(pattern, 'm'), `${what} should match /${pattern}/:\n${text}`);
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
    if (step.skip !== undefined) assert.match(step.skip, /self-hosted trust-domain server/, 'the only reason to skip is a self-hosted server');
    assert.doesNotMatch(step.command, /--no-key/, 'the guide never leaves out the first key');
  }
  // Every guide key id the commands use (tdk-…) is a placeholder some earlier step captures.
  const captured = new Set<string>();
  for (const step of fixture.steps) {
    const text = step.command ?? step.setup ?? '';
    for (const id of text.match(/tdk-[0-9a-z-]+/g) ?? []) assert.ok(captured.has(id), `${id} is used before a step captures it`);
    for (const placeholder of Object.keys(step.capture ?? {})) captured.add(placeholder);
  }
  assert.ok(captured.size >= 5, 'the guide key ids are captured');
});

/** The placeholders captured so far and their real values. */
const captured = new Map<string, string>();

/** The text with every captured placeholder replaced by its value. */
function substitute(text: string): string {
  let out = text;
  for (const [placeholder, value] of captured) out = out.replaceAll(placeholder, value);
  return out;
}

function capture(step: Step, stdout: string): void {
  for (const [placeholder, pattern] of Object.entries(step.capture ?? {})) {
    const value = new RegExp(pattern, 'm').exec(stdout)?.[1];
    assert.ok(value !== undefined, `capture of ${placeholder}: /${pattern}/ in\n${stdout}`);
    captured.set(placeholder, value);
  }
}

test("the guide's commands, verbatim with tpctl, against the registry and the auth service", async (t) => {
  for (const [index, step] of fixture.steps.entries()) {
    if (step.setup !== undefined) {
      const result = await shell(substitute(step.setup));
      assert.equal(result.code, 0, `setup ${index}: ${step.setup}\n${result.stdout}\n${result.stderr}`);
      capture(step, result.stdout);
      continue;
    }
    const command = substitute(step.command ?? '');
    const name = `guide line ${step.guideLine ?? '?'}: ${command.replace(/\\\n/g, ' ').replace(/\n/g, '; ')}`;
    await t.test(name, step.skip === undefined ? {} : { skip: step.skip }, async () => {
      const result = await shell(command);
      assert.equal(result.code, step.exit ?? 0, `exit code\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      matchAll(result.stdout, step.stdout, 'stdout');
      capture(step, result.stdout);
      matchAll(result.stderr, step.stderr, 'stderr');
      for (const [file, patterns] of Object.entries(step.files ?? {})) matchAll(readFileSync(join(work, file), 'utf8'), patterns, file);
      if (step.json !== undefined) {
        const rerun = await shell(`${substitute(step.json.rerun ?? command)} --output json`);
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

/** A key as `tpctl trust-domain deployment key list --output json` shows it. */
interface ListedKey {
  key_id: string;
  deployment_id: string;
  deployment_name: string;
  state: string;
  public_key_pem: string;
}

async function listedKeys(trustDomain: string): Promise<ListedKey[]> {
  const listed = await shell(`tpctl trust-domain deployment key list --trust-domain ${trustDomain} --output json`);
  assert.equal(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout) as ListedKey[];
}

test("the guide's multi-region loop wrote three key files whose private keys are the listed keys'; each exchanges for a credential until it is disabled", async () => {
  const keys = await listedKeys('global.example.com');
  // Each deployment has two keys: its first (deployment create) and the one in the file.
  assert.equal(keys.length, 6, JSON.stringify(keys));
  for (const region of ['us-west-2', 'us-east-1', 'eu-central-1']) {
    const file = join(work, `${region}-key.json`);
    assert.ok(statSync(file).size > 0, `${file} is not empty`);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { key_id: string; deployment_name: string; trust_domain_name: string; private_key_pem: string };
    assert.equal(saved.deployment_name, region);
    assert.equal(saved.trust_domain_name, 'global.example.com');
    const listed = keys.find((key) => key.key_id === saved.key_id);
    assert.ok(listed !== undefined, `${saved.key_id} of ${file} is listed`);
    assert.equal(listed.deployment_name, region);
    assert.equal(listed.state, 'active');
    assert.equal(keys.filter((key) => key.deployment_name === region).length, 2);
    // The saved private key is the listed public key's other half.
    const derived = createPublicKey(saved.private_key_pem).export({ type: 'spki', format: 'pem' }).toString();
    assert.equal(derived.trim(), listed.public_key_pem.trim(), `${region}: the private key matches the listed public key`);
  }

  // A key tpctl created exchanges (through the registry, tpctl's one URL) for a control-plane credential.
  const saved = JSON.parse(readFileSync(join(work, 'us-east-1-key.json'), 'utf8')) as { key_id: string; private_key_pem: string };
  const listed = keys.find((key) => key.key_id === saved.key_id);
  assert.ok(listed !== undefined);
  const exchange = () => fetchControlPlaneCredential(registry.url, { privateKeyPem: saved.private_key_pem, keyId: saved.key_id, deploymentId: listed.deployment_id });
  const credential = await exchange();
  assert.equal(credential.deploymentId, listed.deployment_id);
  assert.match(credential.credential, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // Disabled with tpctl, the same key is refused (a typed 401), and enabled again it exchanges again.
  const disabled = await shell(`tpctl trust-domain deployment key disable ${saved.key_id} --trust-domain global.example.com --deployment-name us-east-1`);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.match(disabled.stdout, /24 hours/);
  await assert.rejects(exchange(), (error: unknown) => error instanceof AuthClientError && error.code === 'EXCHANGE_REFUSED' && error.status === 401);
  assert.equal((await listedKeys('global.example.com')).find((key) => key.key_id === saved.key_id)?.state, 'disabled');
  const enabled = await shell(`tpctl trust-domain deployment key enable ${saved.key_id} --trust-domain global.example.com`);
  assert.equal(enabled.code, 0, enabled.stderr);
  assert.equal((await exchange()).deploymentId, listed.deployment_id);
});

test("the auth service's answers are the shapes the OpenAPI document publishes (tpctl's generated types)", async () => {
  const headers = { authorization: `Bearer ${env['TPCTL_TOKEN']}` };
  const problems = (schema: Parameters<typeof Value.Errors>[0], value: unknown): string => JSON.stringify([...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.path}: ${e.message}`));
  const keysUrl = `${registry.url}/api/v1/trust-domains/global.example.com/deployments/us-west-2/keys`;
  const created: unknown = await (await fetch(keysUrl, { method: 'POST', headers })).json();
  assert.ok(Value.Check(NewDeploymentKeySchema, created), problems(NewDeploymentKeySchema, created));
  const listed = (await (await fetch(keysUrl, { headers })).json()) as { items: unknown[] };
  assert.ok(listed.items.length >= 3);
  for (const item of listed.items) assert.ok(Value.Check(DeploymentKeySchema, item), problems(DeploymentKeySchema, item));
  const key = created as { id: string; deploymentId: string; privateKeyPem: string };
  const assertion = signDeploymentAssertion({ privateKeyPem: key.privateKeyPem, keyId: key.id, deploymentId: key.deploymentId });
  const exchanged = await fetch(`${registry.url}/api/v1/auth/deployment-credentials`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ assertion }) });
  assert.equal(exchanged.status, 200);
  const answer: unknown = await exchanged.json();
  assert.ok(Value.Check(DeploymentCredentialSchema, answer), problems(DeploymentCredentialSchema, answer));
});

// The repo's test runner (tools/run-tests.mjs) on package trees made here: it runs what is
// compiled, and refuses to start when a spec would silently not run (misspelt suffix, outside
// a compiled package, not built) or when dist/ holds a compiled spec whose source is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '@trustplane/testkit';

const PASSING = "require('node:test').test('passes', () => {});\n";
const SOURCE = "import { test } from 'node:test';\ntest('passes', () => {});\n";

/** A package tree with the given files (path → content) in a fresh directory. */
function packageTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-runner-'));
  const all: Record<string, string> = {
    'pkg/package.json': '{"name":"fixture","private":true}',
    'pkg/tsconfig.json': '{"compilerOptions":{"rootDir":"src","outDir":"dist"}}',
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Whether `pid` is a live process (a killed one that nobody reaped yet is a zombie, not live). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function runTests(dir: string, extraEnv: Record<string, string> = {}): { status: number | null; output: string } {
  // Without NODE_TEST_CONTEXT: the runner under test must not think it is nested in this one.
  const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
  const result = spawnSync(process.execPath, [join(repoRoot(), 'tools', 'run-tests.mjs'), dir], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 60_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('a compiled spec with its source runs and passes', () => {
  const run = runTests(packageTree({ 'pkg/src/ok.unit.spec.ts': SOURCE, 'pkg/dist/ok.unit.spec.js': PASSING }));
  assert.equal(run.status, 0, run.output);
  assert.match(run.output, /pass 1/);
});

test('a failing spec fails the run', () => {
  const run = runTests(
    packageTree({ 'pkg/src/bad.unit.spec.ts': SOURCE, 'pkg/dist/bad.unit.spec.js': "require('node:test').test('fails', () => { throw new Error('no'); });\n" }),
  );
  assert.equal(run.status, 1, run.output);
  assert.match(run.output, /fail 1/);
});

test('a spec file that hangs is killed after TP_TEST_FILE_TIMEOUT_MS and fails the run by name; the others still run', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'tp-runner-child-')), 'pid');
  // Hangs twice over: a test that never settles, and a child process it started that keeps going.
  const hanging =
    "const { spawn } = require('node:child_process'); const { writeFileSync } = require('node:fs');\n" +
    `const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); writeFileSync(${JSON.stringify(marker)}, String(child.pid));\n` +
    "require('node:test').test('never ends', () => new Promise(() => setInterval(() => {}, 1000)));\n";
  const started = Date.now();
  const run = runTests(
    packageTree({
      'pkg/src/ok.unit.spec.ts': SOURCE,
      'pkg/dist/ok.unit.spec.js': PASSING,
      'pkg/src/stuck.int.spec.ts': SOURCE,
      'pkg/dist/stuck.int.spec.js': hanging,
    }),
    { TP_TEST_FILE_TIMEOUT_MS: '8000' },
  );
  assert.equal(run.status, 1, run.output);
  assert.ok(Date.now() - started < 50_000, 'the run ended');
  assert.match(run.output, /✖ \S*pkg\/dist\/stuck\.int\.spec\.js timed out after 8000 ms \(TP_TEST_FILE_TIMEOUT_MS\) and was killed/);
  assert.match(run.output, /timed out \(killed after 8000 ms\): \S*pkg\/dist\/stuck\.int\.spec\.js/);
  assert.match(run.output, /2 test files: 1 passed, 0 failed, 1 timed out/);
  assert.match(run.output, /pass 1/, 'the other file ran and passed');
  const orphan = Number(readFileSync(marker, 'utf8'));
  assert.ok(!running(orphan), 'the process the hung file started was killed with it');
});

test('a bad TP_TEST_FILE_TIMEOUT_MS is refused', () => {
  const run = runTests(packageTree({ 'pkg/src/ok.unit.spec.ts': SOURCE, 'pkg/dist/ok.unit.spec.js': PASSING }), { TP_TEST_FILE_TIMEOUT_MS: 'soon' });
  assert.equal(run.status, 1);
  assert.match(run.output, /TP_TEST_FILE_TIMEOUT_MS must be a positive number of milliseconds/);
});

for (const [what, files, reason] of [
  ['a misspelt suffix', { 'pkg/src/a.spec.ts': SOURCE }, /a\.spec\.ts: the runner collects only/],
  ['another misspelt suffix', { 'pkg/src/a.intg.spec.ts': SOURCE }, /a\.intg\.spec\.ts: the runner collects only/],
  ['a .test.ts file', { 'pkg/src/a.test.ts': SOURCE }, /a\.test\.ts: the runner collects only/],
  ['a spec outside the source root', { 'pkg/test/a.unit.spec.ts': SOURCE }, /a\.unit\.spec\.ts: not under the source root/],
  ['a spec outside any package', { 'loose/a.unit.spec.ts': SOURCE }, /a\.unit\.spec\.ts: not under the source root/],
  ['a spec that was never compiled', { 'pkg/src/new.int.spec.ts': SOURCE }, /new\.int\.spec\.ts: no compiled dist\/new\.int\.spec\.js/],
  ['a stale compiled spec whose source was deleted', { 'pkg/dist/gone.unit.spec.js': PASSING }, /gone\.unit\.spec\.js: compiled spec without a source/],
] as const) {
  test(`${what} fails the run before anything runs`, () => {
    const run = runTests(packageTree({ 'pkg/src/ok.unit.spec.ts': SOURCE, 'pkg/dist/ok.unit.spec.js': PASSING, ...files }));
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, reason);
    assert.doesNotMatch(run.output, /pass 1/, 'nothing ran');
  });
}

test('the stale-output rule of tools/prune-dist.mjs: compiled files whose source is gone, and only those', async () => {
  const dir = packageTree({
    'pkg/src/kept.ts': 'export {};\n',
    'pkg/dist/kept.js': '',
    'pkg/dist/kept.d.ts': '',
    'pkg/dist/gone.js': '',
    'pkg/dist/gone.js.map': '',
    'pkg/dist/gone.d.ts': '',
    'pkg/dist/gone.d.ts.map': '',
    'pkg/dist/sub/old.unit.spec.js': PASSING,
  });
  const layout = (await import(join(repoRoot(), 'tools', 'lib', 'dist-layout.mjs'))) as {
    staleOutputs(pkg: { src: string; out: string }): string[];
  };
  const stale = layout.staleOutputs({ src: join(dir, 'pkg', 'src'), out: join(dir, 'pkg', 'dist') }).map((p) => p.slice(dir.length + 1)).sort();
  assert.deepEqual(stale, ['pkg/dist/gone.d.ts', 'pkg/dist/gone.d.ts.map', 'pkg/dist/gone.js', 'pkg/dist/gone.js.map', 'pkg/dist/sub/old.unit.spec.js']);
});

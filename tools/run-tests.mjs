#!/usr/bin/env node
// Runs the compiled test files (dist/**/*.{unit,int,e2e}.spec.js) with node's built-in test runner.
// Usage: node tools/run-tests.mjs [dir or compiled spec file ...] [--level unit|int|e2e] [--concurrency N]
// Fails before running anything when a test source would not be collected (misspelt suffix,
// outside a compiled package, not built) or a compiled spec has no source any more (stale dist/).
// Each file runs in its own `node --test` process (N at a time) with a time limit,
// TP_TEST_FILE_TIMEOUT_MS (default 10 minutes): a file that hangs is killed with everything it
// started (its process group) and fails the run by name, instead of hanging it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { COMPILED_SPEC, staleOutputs, uncollectedSpecs, workspacePackages } from './lib/dist-layout.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const dirs = [];
let level = null;
let concurrency = Number(process.env.TP_TEST_CONCURRENCY ?? 3);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--level') level = args[++i];
  else if (args[i] === '--concurrency') concurrency = Number(args[++i]);
  else dirs.push(args[i]);
}
const roots = dirs.length > 0 ? dirs : ['libs', 'services', 'cli', 'e2e', 'bench'];

/** @param {string} dir @param {boolean} inDist @returns {string[]} */
function findSpecs(dir, inDist) {
  let found = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(findSpecs(path, inDist || name === 'dist'));
    else if (inDist && COMPILED_SPEC.test(name)) {
      if (level === null || name.endsWith(`.${level}.spec.js`)) found.push(path);
    }
  }
  return found;
}

// A compiled spec file may be named directly (its package directory is still checked).
const namedFiles = roots.map((r) => resolve(root, r)).filter((path) => existsSync(path) && statSync(path).isFile() && COMPILED_SPEC.test(path));
const rootDirs = roots.map((r) => resolve(root, r)).filter((dir) => existsSync(dir) && statSync(dir).isDirectory());
const problems = [
  ...uncollectedSpecs(rootDirs),
  ...workspacePackages(rootDirs)
    .flatMap((pkg) => staleOutputs(pkg))
    .filter((path) => COMPILED_SPEC.test(path))
    .map((path) => ({ path, reason: 'compiled spec without a source (stale dist/; tools/build.sh removes it)' })),
];
if (problems.length > 0) {
  console.error(`test files the run would not execute as written:\n${problems.map((p) => `  ${relative(root, p.path)}: ${p.reason}`).join('\n')}`);
  process.exit(1);
}
const files = [...new Set([...rootDirs.flatMap((dir) => findSpecs(dir, false)), ...namedFiles])].sort();
if (files.length === 0) {
  console.error(`no compiled test files under ${roots.join(', ')} (did the build run?)`);
  process.exit(1);
}
const fileTimeoutMs = Number(process.env.TP_TEST_FILE_TIMEOUT_MS ?? 600_000);
if (!Number.isInteger(fileTimeoutMs) || fileTimeoutMs <= 0) {
  console.error(`TP_TEST_FILE_TIMEOUT_MS must be a positive number of milliseconds, not ${process.env.TP_TEST_FILE_TIMEOUT_MS}`);
  process.exit(1);
}

/**
 * Runs one compiled spec file in its own process group; its output is printed in one piece when
 * it ends (files run side by side). Resolves to how it ended.
 * @param {string} file
 * @returns {Promise<{ file: string, status: number | null, timedOut: boolean, ms: number }>}
 */
function runFile(file) {
  const started = Date.now();
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
      cwd: root,
      env: { ...process.env, TP_REPO_ROOT: root },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: the file's test process and every process it started.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, fileTimeoutMs);
    child.on('close', (status) => {
      running.delete(child);
      clearTimeout(timer);
      const name = relative(root, file);
      process.stdout.write(`\n▶ ${name}\n${Buffer.concat(chunks).toString()}`);
      if (timedOut) process.stdout.write(`✖ ${name} timed out after ${fileTimeoutMs} ms (TP_TEST_FILE_TIMEOUT_MS) and was killed\n`);
      resolveRun({ file: name, status, timedOut, ms: Date.now() - started });
    });
  });
}

/** The file processes running now: their groups go down with the runner (Ctrl-C, a CI cancel). */
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    for (const child of running) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

const queue = [...files];
const results = [];
await Promise.all(
  Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) results.push(await runFile(file));
  }),
);
const timedOut = results.filter((r) => r.timedOut);
const failed = results.filter((r) => !r.timedOut && r.status !== 0);
process.stdout.write(`\n${results.length} test files: ${results.length - failed.length - timedOut.length} passed, ${failed.length} failed, ${timedOut.length} timed out\n`);
for (const r of failed) process.stdout.write(`  failed: ${r.file}\n`);
for (const r of timedOut) process.stdout.write(`  timed out (killed after ${fileTimeoutMs} ms): ${r.file}\n`);
process.exit(failed.length + timedOut.length === 0 ? 0 : 1);

#!/usr/bin/env node
// Runs the compiled test files (dist/**/*.{unit,int,e2e}.spec.js) with node's built-in test runner.
// Usage: node tools/run-tests.mjs [dir ...] [--level unit|int|e2e] [--concurrency N]
// Fails before running anything when a test source would not be collected (misspelt suffix,
// outside a compiled package, not built) or a compiled spec has no source any more (stale dist/).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
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

const rootDirs = roots.map((r) => resolve(root, r)).filter((dir) => existsSync(dir));
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
const files = rootDirs.flatMap((dir) => findSpecs(dir, false)).sort();
if (files.length === 0) {
  console.error(`no compiled test files under ${roots.join(', ')} (did the build run?)`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, TP_REPO_ROOT: root } },
);
process.exit(result.status ?? 1);

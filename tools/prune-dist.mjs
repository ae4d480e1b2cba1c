#!/usr/bin/env node
// Removes compiled files whose TypeScript source is gone from every package's dist/ (run by
// tools/build.sh before `tsc -b`, which never deletes outputs of deleted sources).
import { rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { staleOutputs, workspacePackages } from './lib/dist-layout.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const roots = ['libs', 'services', 'cli', 'e2e', 'bench'].map((r) => resolve(root, r));
let removed = 0;
for (const pkg of workspacePackages(roots)) {
  for (const path of staleOutputs(pkg)) {
    rmSync(path);
    removed += 1;
    if (removed <= 20) process.stderr.write(`[build] removed stale ${relative(root, path)}\n`);
  }
}
if (removed > 20) process.stderr.write(`[build] removed ${removed} stale compiled files\n`);

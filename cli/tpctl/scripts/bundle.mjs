#!/usr/bin/env node
// `npm pack` of @trustplane/tpctl: the tarball must install and run with no registry and no
// workspace around it, so it carries its runtime dependencies (package.json
// `bundleDependencies`). In the workspace they are hoisted to the repo's node_modules (and
// @trustplane/spiffe is a link to libs/spiffe), where npm pack does not look:
//   prepack:  node scripts/bundle.mjs stage   builds tpctl, copies the bundled packages into
//             cli/tpctl/node_modules (links resolved), checks none needs an unbundled package
//   postpack: node scripts/bundle.mjs clean   removes that node_modules again
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const packageDir = resolve(new URL('..', import.meta.url).pathname);
// A copy of the package may be packed elsewhere (the e2e test does, so that it never stages
// into the checkout while other tests run tpctl): TPCTL_SOURCE_DIR names the workspace package
// whose installed dependencies are bundled.
const sourceDir = resolve(process.env.TPCTL_SOURCE_DIR ?? packageDir);
const repoRoot = resolve(sourceDir, '..', '..');
const staged = join(packageDir, 'node_modules');
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const bundled = manifest.bundleDependencies ?? [];
const fromRepo = createRequire(join(repoRoot, 'package.json'));

/** The installed directory of `name` as Node resolves it from tpctl (links followed). */
function installedDir(name) {
  for (let dir = sourceDir; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (dir !== sourceDir && existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  throw new Error(`${name} is not installed (run npm ci)`);
}

function stage() {
  const tsc = spawnSync(process.execPath, [fromRepo.resolve('typescript/bin/tsc'), '-b', sourceDir], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error('building tpctl failed');
  rmSync(staged, { recursive: true, force: true });
  for (const name of bundled) {
    const source = installedDir(name);
    const own = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    const missing = Object.keys(own.dependencies ?? {}).filter((dep) => !bundled.includes(dep));
    if (missing.length > 0) throw new Error(`${name} needs ${missing.join(', ')}: add them to bundleDependencies`);
    if (existsSync(join(source, 'tsconfig.json')) && !existsSync(join(source, 'dist'))) throw new Error(`${name} is not built`);
    // The bundled package's own `files` decides what of it goes into the tarball.
    cpSync(source, join(staged, name), { recursive: true, filter: (path) => !path.slice(source.length).split('/').includes('node_modules') });
  }
}

const mode = process.argv[2];
if (mode === 'stage') stage();
else if (mode === 'clean') rmSync(staged, { recursive: true, force: true });
else {
  process.stderr.write('usage: bundle.mjs stage|clean\n');
  process.exit(2);
}

// Where each workspace package keeps its sources and its compiled output, and the two checks the
// test run relies on: compiled files whose source is gone (stale, removed before the build) and
// spec sources the runner would not collect (misspelt suffix, outside a compiled package, not built).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The file names the runner collects from `dist/`. */
export const COMPILED_SPEC = /\.(unit|int|e2e)\.spec\.js$/;
/** The source names that become collected specs. */
const SOURCE_SPEC = /\.(unit|int|e2e)\.spec\.ts$/;
/** Anything that looks like a test file to a reader (any level word, any script extension). */
const LOOKS_LIKE_SPEC = /[._-](spec|specs|test|tests)\.[cm]?[jt]sx?$/i;
/** Compiled outputs of one `.ts` source. */
const OUTPUT_SUFFIXES = ['.d.ts.map', '.d.ts', '.js.map', '.js'];

/** @param {string} dir @param {(path: string) => void} visit */
function walk(dir, visit) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, visit);
    else visit(path);
  }
}

/**
 * Workspace packages under `dirs` (directories with both package.json and tsconfig.json, also
 * nested in another package), each
 * with its source root and output directory as its tsconfig names them.
 * @param {string[]} dirs
 * @returns {{ dir: string, src: string, out: string }[]}
 */
export function workspacePackages(dirs) {
  const found = [];
  const visit = (dir) => {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) {
      let options = {};
      try {
        options = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).compilerOptions ?? {};
      } catch {
        options = {};
      }
      found.push({ dir, src: resolve(dir, options.rootDir ?? 'src'), out: resolve(dir, options.outDir ?? 'dist') });
      // A package may hold another one (e2e/chaos inside e2e): keep looking below it.
    }
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
    }
  };
  for (const dir of dirs) if (existsSync(dir)) visit(dir);
  return found;
}

/**
 * Compiled files of `pkg` whose `.ts` source no longer exists (tsc -b never deletes them, so a
 * deleted spec would otherwise keep running from `dist/`).
 * @param {{ src: string, out: string }} pkg
 * @returns {string[]}
 */
export function staleOutputs(pkg) {
  if (!existsSync(pkg.out)) return [];
  const stale = [];
  walk(pkg.out, (path) => {
    const suffix = OUTPUT_SUFFIXES.find((s) => path.endsWith(s));
    if (suffix === undefined) return;
    const source = join(pkg.src, relative(pkg.out, path)).slice(0, -suffix.length) + '.ts';
    if (!existsSync(source)) stale.push(path);
  });
  return stale;
}

/**
 * The workspace package holding `path` (the nearest ancestor with package.json and tsconfig.json).
 * @param {string} path
 * @returns {{ dir: string, src: string, out: string } | undefined}
 */
function packageOf(path) {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) {
      return workspacePackages([dir])[0];
    }
  }
  return undefined;
}

/**
 * Test sources under `dirs` that the runner would not run, with the reason: a name that is not
 * `*.{unit,int,e2e}.spec.ts`, a file outside every compiled package's source root, or a spec
 * that has no compiled file (the build did not include it).
 * @param {string[]} dirs
 * @returns {{ path: string, reason: string }[]}
 */
export function uncollectedSpecs(dirs) {
  const problems = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    walk(dir, (path) => {
      const name = path.split(sep).at(-1) ?? '';
      if (path.split(sep).includes('dist') || name.endsWith('.d.ts')) return;
      if (!LOOKS_LIKE_SPEC.test(name) && !SOURCE_SPEC.test(name)) return;
      if (!SOURCE_SPEC.test(name)) {
        problems.push({ path, reason: 'the runner collects only *.unit.spec.ts, *.int.spec.ts and *.e2e.spec.ts' });
        return;
      }
      const pkg = packageOf(path);
      if (pkg === undefined || !path.startsWith(pkg.src + sep)) {
        problems.push({ path, reason: 'not under the source root of a compiled package (no tsconfig.json compiles it)' });
        return;
      }
      const compiled = join(pkg.out, relative(pkg.src, path)).replace(/\.ts$/, '.js');
      if (!existsSync(compiled)) problems.push({ path, reason: `no compiled ${relative(pkg.dir, compiled)} (not in the build, or the build did not run)` });
    });
  }
  return problems;
}

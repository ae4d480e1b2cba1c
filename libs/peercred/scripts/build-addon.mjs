// Builds the N-API addon with node-gyp against the headers of the Node.js that runs this script.
// node-gyp would otherwise download headers from nodejs.org (no network here) or depend on the
// machine's npm config. A Node.js installed as <prefix>/bin/node ships its headers in
// <prefix>/include/node (official tarballs, Debian's nodejs package, nvm, the node Docker images).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodePrefix = dirname(dirname(process.execPath));
const headerFile = join(nodePrefix, 'include', 'node', 'node_api.h');
if (!existsSync(headerFile)) {
  console.error(
    `[peercred] Node.js headers not found at ${headerFile} (derived from ${process.execPath}).\n` +
      '[peercred] Install the headers of this Node.js (Debian: apt-get install libnode-dev) and run npm ci again.',
  );
  process.exit(1);
}
const nodeGyp = process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp';
const result = spawnSync(nodeGyp, ['rebuild', `--nodedir=${nodePrefix}`], { cwd: packageDir, stdio: 'inherit' });
if (result.error) {
  console.error(`[peercred] could not run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);

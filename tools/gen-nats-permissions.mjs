#!/usr/bin/env node
// Regenerates infra/nats/permissions.json from libs/bus (the NATS users and their permissions)
// and libs/events (who owns which aggregate). A unit test fails while the file is stale.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PERMISSIONS_PATH, ROOT } from './lib/nats-conf.mjs';

const build = spawnSync('npx', ['tsc', '-b', 'libs/bus'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const { permissionsDocumentText } = createRequire(`${ROOT}/package.json`)(
  `${ROOT}/libs/bus/dist/index.js`,
);
writeFileSync(PERMISSIONS_PATH, permissionsDocumentText());
process.stdout.write(`wrote ${PERMISSIONS_PATH}\n`);

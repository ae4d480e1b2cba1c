#!/usr/bin/env node
// The `tpctl` command: runs the compiled CLI. This file is committed (and executable) so that npm
// links `node_modules/.bin/tpctl` at install time, before `dist/` has been built.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script, like the package it starts */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`Error: tpctl is not built (${main} is missing): run \`npm run build\` in the repository (NOT_BUILT)\n`);
  process.exit(1);
}
require(main);

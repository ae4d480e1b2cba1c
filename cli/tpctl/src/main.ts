#!/usr/bin/env node
// The tpctl executable.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { loadBootstrap } from './bootstrap.js';
import { run } from './cli.js';
import { readConfigFile, writeConfigFile } from './config.js';

run(process.argv.slice(2), {
  env: process.env,
  home: homedir(),
  fetch: globalThis.fetch,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  randomUUID,
  now: () => new Date(),
  loadBootstrap,
  readFile: (path) => readFile(path, 'utf8'),
  readConfig: readConfigFile,
  writeConfig: (path, config) => writeConfigFile(path, config, randomUUID()),
}).then(
  // Exit explicitly: the host-local bootstrap may leave NATS/Postgres handles behind, and writes
  // to stdout/stderr are synchronous for files and pipes on POSIX, so nothing is lost.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `Error: ${error instanceof Error ? error.message : String(error)} (INTERNAL)\n`,
    );
    process.exit(1);
  },
);

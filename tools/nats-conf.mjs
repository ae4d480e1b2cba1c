#!/usr/bin/env node
// nats-server configuration for TrustPlane's bus users (see tools/lib/nats-conf.mjs).
//
//   node tools/nats-conf.mjs credentials FILE
//       FILE (0600) gets TP_NATS_<USER>_USER / _PASSWORD for every bus user; existing passwords stay
//   node tools/nats-conf.mjs render --port N --store DIR --credentials FILE [--prefix P] [--stream S] [--out FILE]
//       a nats-server configuration with JetStream and the users; without --prefix / --stream the
//       subject prefix and stream name are the wildcard `*` (a server shared by tests and demos)
import { writeFileSync } from 'node:fs';
import { ensureCredentials, readEnvFile, renderServerConfig } from './lib/nats-conf.mjs';

function option(args, name) {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

function required(args, name) {
  const value = option(args, name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

function main(args) {
  const [command, ...rest] = args;
  if (command === 'credentials' && rest[0] !== undefined) {
    ensureCredentials(rest[0]);
    return;
  }
  if (command === 'render') {
    const text = renderServerConfig({
      port: Number(required(rest, 'port')),
      storeDir: required(rest, 'store'),
      credentials: readEnvFile(required(rest, 'credentials')),
      scope: { prefix: option(rest, 'prefix'), stream: option(rest, 'stream') },
    });
    const out = option(rest, 'out');
    if (out === undefined) process.stdout.write(text);
    else writeFileSync(out, text, { mode: 0o600 });
    return;
  }
  throw new Error(
    'usage: nats-conf.mjs credentials FILE | render --port N --store DIR --credentials FILE [--prefix P] [--stream S] [--out FILE]',
  );
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`nats-conf: ${error.message}\n`);
  process.exit(1);
}

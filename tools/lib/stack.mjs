// Helpers shared by tools/demo.mjs and tools/up.mjs: databases, NATS identities, services as
// child processes. The settings come from .local/stack.env (infra/local/stack.sh ensure).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const require = createRequire(`${ROOT}/package.json`);
const pg = require('pg');
const { connect } = require('@nats-io/transport-node');
const { jetstreamManager } = require('@nats-io/jetstream');
const bus = require(`${ROOT}/libs/bus/dist/index.js`);

/** The services' database URL of the local stack (`trustplane`). */
export const SERVICES_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/trustplane';
/** The administrative Postgres URL of the local stack (databases are created from it). */
export const ADMIN_DATABASE_URL = process.env.DATABASE_ADMIN_URL ?? databaseUrlOn(SERVICES_DATABASE_URL, 'postgres');

function databaseUrlOn(url, name) {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** The NATS server of the local stack. */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A bus user's credentials from the stack settings (`TP_NATS_<NAME>_USER` / `_PASSWORD`). */
export function natsCredentials(name) {
  const prefix = bus.credentialsEnvPrefix(name);
  const user = process.env[`${prefix}_USER`];
  const password = process.env[`${prefix}_PASSWORD`];
  if (!user || !password) throw new Error(`${prefix}_USER / ${prefix}_PASSWORD are not set: source .local/stack.env (infra/local/stack.sh ensure)`);
  return { user, password };
}

/** The NATS settings a service process runs with: the stack's server and the service's own user. */
export function natsEnvFor(service) {
  const { user, password } = natsCredentials(service);
  return { NATS_URL, TP_NATS_USER: user, TP_NATS_PASSWORD: password };
}

/** Connects to the stack's NATS as a bus user (replies on the user's private inbox). */
export async function connectNatsAs(name) {
  const { user, password } = natsCredentials(name);
  return connect({ servers: NATS_URL.split(',').map((s) => s.replace(/^nats:\/\//, '')), user, pass: password, inboxPrefix: bus.inboxPrefixFor(user), name: `tools-${name}` });
}

/**
 * Creates the event stream or brings it to the event log's settings, as the admin (services may
 * only create a missing stream, never change one).
 */
export async function provisionStream(streamName, subjectPrefix, replicas = 1) {
  const { provisionEventStream } = require(`${ROOT}/libs/eventstore/dist/index.js`);
  const { eventStreamSettings } = require(`${ROOT}/libs/platform/dist/connections.js`);
  const nc = await connectNatsAs('admin');
  try {
    const jsm = await jetstreamManager(nc);
    await provisionEventStream(jsm, eventStreamSettings({ eventStream: streamName, subjectPrefix, streamReplicas: replicas }));
  } finally {
    await nc.close();
  }
}

export function databaseUrl(name) {
  return databaseUrlOn(ADMIN_DATABASE_URL, name);
}

export async function ensureDatabase(name) {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return databaseUrl(name);
}

export async function dropDatabase(name) {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export function token() {
  return randomBytes(4).toString('hex');
}

/** Starts a service's dist/main.js with env; resolves once /readyz answers 200. */
export async function startService(name, script, env, readyUrl, { quiet = true } = {}) {
  const child = spawn(process.execPath, [resolve(ROOT, script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`))));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await Promise.race([
      fetch(readyUrl).then((r) => r.ok, () => false),
      exited,
    ]);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${readyUrl}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

export async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

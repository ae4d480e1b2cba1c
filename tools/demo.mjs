// The TrustPlane demo: runs the real services against the local stack and walks through
// what works today with tpctl. Every run uses its own database and event stream, dropped
// at the end.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ROOT, dropDatabase, ensureDatabase, freePort, startService, token } from './lib/stack.mjs';

const require = createRequire(`${ROOT}/package.json`);
const pg = require('pg');
const { connect } = require('@nats-io/transport-node');
const { jetstreamManager } = require('@nats-io/jetstream');

const run = token();
const database = `tp_demo_${run}`;
const stream = `TP_DEMO_${run.toUpperCase()}`;
const prefix = `tpdemo${run}`;

function step(title) {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}

/** Runs tpctl like an operator would, echoing the command and its output. */
function tpctl(env, args, { expectFailure = false, quiet = false } = {}) {
  if (!quiet) process.stdout.write(`$ tpctl ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const result = spawnSync(process.execPath, [`${ROOT}/cli/tpctl/dist/main.js`, ...args], { env, encoding: 'utf8' });
  if (!quiet) process.stdout.write(result.stdout + result.stderr);
  if (expectFailure ? result.status === 0 : result.status !== 0) {
    throw new Error(`tpctl ${args.join(' ')} ${expectFailure ? 'unexpectedly succeeded' : `failed: ${result.stderr}`}`);
  }
  return result.stdout;
}

async function main() {
  const databaseUrl = await ensureDatabase(database);
  const port = await freePort();
  const serviceEnv = {
    DATABASE_URL: databaseUrl,
    TP_EVENT_STREAM: stream,
    TP_SUBJECT_PREFIX: prefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    TP_LOG_LEVEL: 'warn',
  };
  const base = `http://127.0.0.1:${port}`;
  step(`starting the registry on ${base} (database ${database}, stream ${stream})`);
  const registry = await startService('registry', 'services/registry/dist/main.js', serviceEnv, `${base}/readyz`);
  const env = { ...process.env, ...serviceEnv, TPCTL_SERVER: base };
  try {
    step('a fresh install answers 401 until a token exists');
    tpctl(env, ['trust-domain', 'list'], { expectFailure: true });

    step('on the host: create an organization and an API token (written through the event log)');
    const org = JSON.parse(tpctl(env, ['org', 'create', '--name', 'Acme', '--output', 'json']));
    process.stdout.write(`organization ${org.id}\n`);
    const issued = JSON.parse(tpctl(env, ['token', 'create', '--org', org.id, '--scopes', 'admin', '--name', 'demo', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl token create --org ${org.id} --scopes admin --name demo\ntoken ${issued.id} created (shown once): ${issued.token.slice(0, 24)}…\n`);
    env.TPCTL_TOKEN = issued.token;
    for (let i = 0; i < 100; i++) {
      if (spawnSync(process.execPath, [`${ROOT}/cli/tpctl/dist/main.js`, 'trust-domain', 'list'], { env }).status === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    step('trust domains');
    tpctl(env, ['trust-domain', 'create', 'example.org', '--description', 'Production workloads']);
    tpctl(env, ['trust-domain', 'create', 'staging.example.org', '--self-hosted']);
    tpctl(env, ['trust-domain', 'deployment', 'create', 'staging.example.org', 'eu-west-1', '--region', 'eu-west']);
    tpctl(env, ['trust-domain', 'list']);
    tpctl(env, ['trust-domain', 'info', 'example.org', '--show-deployments']);

    step('a cluster and registration entries');
    const cluster = JSON.parse(tpctl(env, ['cluster', 'create', 'example.org', 'production', '--platform', 'k8s', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl cluster create example.org production --platform k8s\ncluster production ${cluster.id} created\n`);
    tpctl(env, ['cluster', 'list', 'example.org']);
    const entryIds = [];
    for (const [name, uid] of [['payments', '1000'], ['billing', '1001']]) {
      const args = ['entry', 'create', 'example.org', '--spiffe-id', `spiffe://example.org/${name}`, '--parent-id', 'spiffe://example.org/agent/production/node-1', '--selector', `unix:uid:${uid}`];
      process.stdout.write(`$ tpctl ${args.join(' ')}\n`);
      const entry = JSON.parse(tpctl(env, [...args, '--output', 'json'], { quiet: true }));
      process.stdout.write(`entry ${entry.id} → ${entry.spiffeId} (revision ${entry.revision})\n`);
      entryIds.push(entry.id);
    }
    tpctl(env, ['entry', 'list', 'example.org']);

    step('bad input is refused with the rule that failed, and nothing is written');
    tpctl(env, ['entry', 'create', 'example.org', '--spiffe-id', 'spiffe://other.org/x', '--parent-id', 'spiffe://example.org/agent/production/node-1', '--selector', 'unix:uid:1'], { expectFailure: true });
    tpctl(env, ['trust-domain', 'create', 'Example.ORG'], { expectFailure: true });

    step('deleting a trust domain that still has clusters is refused');
    tpctl(env, ['trust-domain', 'delete', 'example.org'], { expectFailure: true });

    step('clean up, then delete');
    for (const id of entryIds) tpctl(env, ['entry', 'delete', id]);
    tpctl(env, ['cluster', 'disable', 'example.org', cluster.id]);
    tpctl(env, ['cluster', 'delete', 'example.org', cluster.id]);
    tpctl(env, ['trust-domain', 'delete', 'example.org']);
    tpctl(env, ['trust-domain', 'list']);

    step('every change is an event in the append-only log (JetStream)');
    const nc = await connect({
      servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').replace(/^nats:\/\//, ''),
      ...(process.env.TP_NATS_ADMIN_USER ? { user: process.env.TP_NATS_ADMIN_USER, pass: process.env.TP_NATS_ADMIN_PASSWORD } : {}),
    });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    process.stdout.write(`stream ${stream}: ${info.state.messages} events, deny_delete=${info.config.deny_delete}, deny_purge=${info.config.deny_purge}\n`);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      const event = JSON.parse(new TextDecoder().decode(message.data));
      process.stdout.write(`  #${String(seq).padStart(2)} ${event.type.padEnd(28)} ${event.aggregateType}/${event.aggregateId}  by ${event.actor.kind}:${event.actor.id}\n`);
    }
    const purge = await jsm.streams.purge(stream).then(() => 'allowed?!', (e) => `refused (${e.message})`);
    process.stdout.write(`purging the stream → ${purge}\n`);

    step('read models in PostgreSQL (row-level security per organization)');
    const pool = new pg.Pool({ connectionString: databaseUrl });
    const checkpoints = await pool.query('SELECT projection, stream_seq FROM registry.projection_checkpoints ORDER BY projection');
    console.table(checkpoints.rows);
    await pool.end();

    step('rebuild every projection from sequence 1 and compare with the live tables');
    const rebuild = spawnSync(process.execPath, [`${ROOT}/services/registry/dist/admin.js`, 'rebuild'], { env: { ...process.env, ...serviceEnv }, encoding: 'utf8' });
    process.stdout.write(rebuild.stdout);
    if (rebuild.status !== 0) throw new Error(`rebuild differed or failed: ${rebuild.stderr}`);

    await jsm.streams.delete(stream);
    await nc.close();
    step('done: the demo stream and database are removed');
  } finally {
    await registry.stop();
    await dropDatabase(database);
  }
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

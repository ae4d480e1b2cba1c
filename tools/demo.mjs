// The TrustPlane demo: runs the real services against the local stack and walks through
// what works today. Every run uses its own database and event stream, dropped at the end.
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
  process.stdout.write(`\n== ${title}\n`);
}
function show(value) {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}

async function api(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function main() {
  const databaseUrl = await ensureDatabase(database);
  const port = await freePort();
  const env = {
    DATABASE_URL: databaseUrl,
    TP_EVENT_STREAM: stream,
    TP_SUBJECT_PREFIX: prefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    TP_LOG_LEVEL: 'warn',
  };
  const base = `http://127.0.0.1:${port}`;
  step(`starting the registry on ${base} (database ${database}, stream ${stream})`);
  const registry = await startService('registry', 'services/registry/dist/main.js', env, `${base}/readyz`);
  try {
    show((await api(base, 'GET', '/readyz')).body);

    step('commands append events; the organizations projection follows');
    const acme = await api(base, 'POST', '/api/v1/organizations', { name: 'Acme' });
    show(`POST /api/v1/organizations {"name":"Acme"} → ${acme.status}`);
    show(acme.body);
    const globex = await api(base, 'POST', '/api/v1/organizations', { name: 'Globex' });
    show(`POST /api/v1/organizations {"name":"Globex"} → ${globex.status} ${globex.body.id}`);
    const renamed = await api(base, 'PATCH', `/api/v1/organizations/${acme.body.id}`, { name: 'Acme Corporation' });
    show(`PATCH /api/v1/organizations/${acme.body.id} {"name":"Acme Corporation"} → ${renamed.status} version ${renamed.body.version}`);

    step('bad input is refused with problem+json and appends nothing');
    const bad = await api(base, 'POST', '/api/v1/organizations', { name: '', colour: 'red' });
    show(`→ ${bad.status}`);
    show(bad.body);

    step('the event log (JetStream, append-only)');
    const nc = await connect({
      servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').replace(/^nats:\/\//, ''),
      ...(process.env.TP_NATS_ADMIN_USER ? { user: process.env.TP_NATS_ADMIN_USER, pass: process.env.TP_NATS_ADMIN_PASSWORD } : {}),
    });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    show(`stream ${stream}: ${info.state.messages} events, deny_delete=${info.config.deny_delete}, deny_purge=${info.config.deny_purge}`);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      const event = JSON.parse(new TextDecoder().decode(message.data));
      show(`  #${seq} ${message.subject}  ${event.type} v${event.schemaVersion} ${JSON.stringify(event.data)}`);
    }
    const purge = await jsm.streams.purge(stream).then(() => 'allowed?!', (e) => `refused: ${e.message}`);
    show(`purge the stream → ${purge}`);

    step('the read model in PostgreSQL');
    const pool = new pg.Pool({ connectionString: databaseUrl });
    const rows = await pool.query('SELECT id, name, version, created_at, updated_at FROM registry.organizations ORDER BY created_at');
    console.table(rows.rows.map((r) => ({ ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() })));
    const checkpoint = await pool.query('SELECT projection, stream_seq FROM registry.projection_checkpoints');
    console.table(checkpoint.rows);
    await pool.end();

    step('rebuild every projection from sequence 1 and compare with the live tables');
    const rebuild = spawnSync(process.execPath, [`${ROOT}/services/registry/dist/admin.js`, 'rebuild'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    show(rebuild.stdout.trim());
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

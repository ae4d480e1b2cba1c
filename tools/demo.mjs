// The TrustPlane demo: runs the real services against the local stack and walks through
// what works today with tpctl. Every run uses its own database and event stream, dropped
// at the end.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATS_URL, ROOT, connectNatsAs, dropDatabase, ensureDatabase, freePort, natsEnvFor, startService, token } from './lib/stack.mjs';

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
  const federationPort = await freePort();
  const federationBase = `http://127.0.0.1:${federationPort}`;
  const serviceEnv = {
    ...natsEnvFor('registry'),
    DATABASE_URL: databaseUrl,
    TP_EVENT_STREAM: stream,
    TP_SUBJECT_PREFIX: prefix,
    TP_REGISTRY_PORT: String(port),
    TP_REGISTRY_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    TP_REGISTRY_PUBLIC_BUNDLE_BASE_URL: federationBase,
    TP_LOG_LEVEL: 'warn',
  };
  const base = `http://127.0.0.1:${port}`;
  const work = mkdtempSync(join(tmpdir(), 'tp-demo-'));
  chmodSync(work, 0o755);
  const [signerPort, agentApiPort, agentHealthPort, authPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const authUrl = `http://127.0.0.1:${authPort}`;
  step(`starting the auth service, the registry on ${base} and the signer (database ${database}, stream ${stream})`);
  const authEnv = {
    ...natsEnvFor('auth'),
    DATABASE_URL: databaseUrl,
    TP_EVENT_STREAM: stream,
    TP_SUBJECT_PREFIX: prefix,
    TP_AUTH_PORT: String(authPort),
    TP_AUTH_KEY_DIR: join(work, 'auth-keys'),
    TP_AUTH_KEK_PATH: join(work, 'auth-kek'),
    TP_LOG_LEVEL: 'warn',
  };
  const auth = await startService('auth', 'services/auth/dist/main.js', authEnv, `${authUrl}/readyz`);
  serviceEnv.TP_REGISTRY_AUTH_URL = authUrl;
  const registry = await startService('registry', 'services/registry/dist/main.js', serviceEnv, `${base}/readyz`);
  const signerEnv = {
    ...serviceEnv,
    ...natsEnvFor('signer'),
    TP_SIGNER_PORT: String(signerPort),
    TP_SIGNER_AGENT_PORT: String(agentApiPort),
    TP_SIGNER_AGENT_HOST: '127.0.0.1',
    TP_SIGNER_CUSTODY_DIR: join(work, 'custody'),
    TP_SIGNER_KEY_DIR: join(work, 'keys'),
    TP_SIGNER_KEK_PATH: join(work, 'kek'),
  };
  const signer = await startService('signer', 'services/signer/dist/main.js', signerEnv, `http://127.0.0.1:${signerPort}/readyz`);
  // The public bundle publisher: its own read-only bus user, no database.
  const writer = natsEnvFor('federationWriter');
  const federationEnv = { ...natsEnvFor('federation'), TP_FEDERATION_WRITER_NATS_USER: writer.TP_NATS_USER, TP_FEDERATION_WRITER_NATS_PASSWORD: writer.TP_NATS_PASSWORD, TP_EVENT_STREAM: stream, TP_SUBJECT_PREFIX: prefix, TP_FEDERATION_PORT: String(federationPort), TP_FEDERATION_PUBLIC_BASE_URL: federationBase, TP_LOG_LEVEL: 'warn' };
  const federation = await startService('federation', 'services/federation/dist/main.js', federationEnv, `${federationBase}/readyz`);
  const env = { ...process.env, ...serviceEnv, TPCTL_SERVER: base };
  const children = [];
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

    step('a self-hosted deployment proves itself with a deployment key (Ed25519, private key shown once)');
    const { fetchControlPlaneCredential, verifyControlPlaneCredential, controlPlaneJwks } = require(`${ROOT}/libs/auth-client/dist/index.js`);
    const api = async (method, path) => {
      const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${env.TPCTL_TOKEN}` } });
      return { status: response.status, json: await response.json().catch(() => undefined) };
    };
    const keysPath = '/api/v1/trust-domains/staging.example.org/deployments/eu-west-1/keys';
    let key;
    for (let i = 0; i < 100 && key?.status !== 201; i++) {
      key = await api('POST', keysPath);
      if (key.status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(`POST ${keysPath} → ${key.status}: key ${key.json.id} (${key.json.state}, fingerprint ${key.json.fingerprint.slice(0, 16)}…)\n`);
    process.stdout.write(`private key (shown once, stored nowhere): ${key.json.privateKeyPem.split('\n')[0]} …\n`);
    const credential = await fetchControlPlaneCredential(base, { privateKeyPem: key.json.privateKeyPem, keyId: key.json.id, deploymentId: key.json.deploymentId });
    const claims = await verifyControlPlaneCredential(credential.credential, controlPlaneJwks(base));
    process.stdout.write(`the server exchanged a signed assertion for a control-plane credential: deployment ${claims.deploymentId}, key ${claims.keyId}, expires ${claims.expiresAt.toISOString()}\n`);
    await api('POST', `${keysPath}/${key.json.id}/disable`);
    const refused = await fetchControlPlaneCredential(base, { privateKeyPem: key.json.privateKeyPem, keyId: key.json.id, deploymentId: key.json.deploymentId }).then(
      () => 'accepted?!',
      (e) => `refused (${e.serverCode})`,
    );
    process.stdout.write(`after disabling the key, the next exchange → ${refused}; the credential already issued runs until ${claims.expiresAt.toISOString()}\n`);
    const second = await api('POST', keysPath);
    const blocked = await api('DELETE', `/api/v1/trust-domains/staging.example.org/deployments/${key.json.deploymentId}`);
    process.stdout.write(`deleting the deployment while key ${second.json.id} is active → ${blocked.status} ${blocked.json.code}: ${blocked.json.detail}\n`);
    step('the public SPIFFE bundle, JWKS and OIDC discovery (services/federation, from the event log in memory)');
    const endpoints = JSON.parse(tpctl(env, ['trust-domain', 'info', 'example.org', '--output', 'json'], { quiet: true })).endpoints;
    let published;
    for (let i = 0; i < 300 && published === undefined; i++) {
      const response = await fetch(endpoints.bundle).catch(() => undefined);
      if (response?.ok) published = await response.json();
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (published === undefined) throw new Error(`${endpoints.bundle} did not answer`);
    process.stdout.write(`$ curl ${endpoints.bundle}\n${published.keys.map((k) => `  ${k.use} ${k.kty}${k.kid ? ` kid=${k.kid}` : ''}${k.x5c ? ` x5c[${k.x5c.length}]` : ''}`).join('\n')}\n  spiffe_sequence ${published.spiffe_sequence}, spiffe_refresh_hint ${published.spiffe_refresh_hint}\n`);
    const discovery = await (await fetch(endpoints.oidc_discovery)).json();
    process.stdout.write(`$ curl ${endpoints.oidc_discovery}\n  issuer ${discovery.issuer}\n  jwks_uri ${discovery.jwks_uri}\n`);

    step('a cluster and registration entries');
    const cluster = JSON.parse(tpctl(env, ['cluster', 'create', 'example.org', 'production', '--platform', 'k8s', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl cluster create example.org production --platform k8s\ncluster production ${cluster.id} created\n`);
    tpctl(env, ['cluster', 'list', 'example.org']);
    const entryIds = [];
    for (const [name, uid] of [['payments', '1000'], ['billing', '1001']]) {
      const args = ['entry', 'create', 'example.org', '--spiffe-id', `spiffe://example.org/${name}`, '--parent-id', 'spiffe://example.org/agent/production/node-1', '--selector', `unix:uid:${uid}`];
      process.stdout.write(`$ tpctl ${args.join(' ')}\n`);
      const entry = JSON.parse(tpctl(env, [...args, '--output', 'json'], { quiet: true }));
      process.stdout.write(`entry ${entry.id} → ${entry.spiffe_id} (revision ${entry.revision})\n`);
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

    step('the real thing: an agent on the node, two workloads talking mutual TLS with SPIFFE IDs');
    const demoTd = JSON.parse(tpctl(env, ['trust-domain', 'create', 'demo.example', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl trust-domain create demo.example\ntrust domain demo.example ${demoTd.id} created\n`);
    for (let i = 0; i < 100 && JSON.parse(tpctl(env, ['trust-domain', 'info', 'demo.example', '--output', 'json'], { quiet: true })).status !== 'available'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    tpctl(env, ['trust-domain', 'info', 'demo.example']);
    const edge = JSON.parse(tpctl(env, ['cluster', 'create', 'demo.example', 'edge', '--platform', 'linux', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl cluster create demo.example edge --platform linux\ncluster edge ${edge.id} created (its private key is printed once; not needed with a join token)\n`);
    const join_ = JSON.parse(tpctl(env, ['cluster', 'join-token', 'create', '--cluster', 'edge', '--trust-domain', 'demo.example', '--output', 'json'], { quiet: true }));
    process.stdout.write(`$ tpctl cluster join-token create --cluster edge --trust-domain demo.example\njoin token ${join_.id} (single use, expires ${join_.expiresAt})\n`);
    const bundlePath = join(work, 'bundle.pem');
    writeFileSync(bundlePath, tpctl(env, ['trust-domain', 'bundle', 'demo.example'], { quiet: true }));
    process.stdout.write(`$ tpctl trust-domain bundle demo.example > bundle.pem\nthe agent verifies the signer against these CA certificates on its first connection\n`);
    const socketPath = join(work, 'agent.sock');
    const agentEnv = {
      TP_AGENT_SERVER_ADDRESS: `127.0.0.1:${agentApiPort}`,
      TP_AGENT_TRUST_DOMAIN_ID: demoTd.id,
      TP_AGENT_TRUST_DOMAIN: 'demo.example',
      TP_AGENT_CLUSTER_ID: edge.id,
      TP_AGENT_NODE_NAME: 'node-1',
      TP_AGENT_JOIN_TOKEN: join_.token,
      TP_AGENT_TRUST_BUNDLE_PATH: bundlePath,
      TP_AGENT_DATA_DIR: join(work, 'agent'),
      TP_AGENT_SOCKET_PATH: socketPath,
      TP_AGENT_HEALTH_HOST: '127.0.0.1',
      TP_AGENT_HEALTH_PORT: String(agentHealthPort),
      TP_LOG_LEVEL: 'warn',
    };
    const agent = await startService('agent', 'services/agent/dist/main.js', agentEnv, `http://127.0.0.1:${agentHealthPort}/readyz`, { quiet: false });
    children.push(agent.child);
    process.stdout.write(`agent attested with the join token; Workload API at SPIFFE_ENDPOINT_SOCKET=unix://${socketPath}\n`);
    tpctl(env, ['agent', 'list', 'demo.example']);
    const root = process.getuid?.() === 0;
    const [frontendUid, backendUid] = root ? [1001, 1002] : [process.getuid?.() ?? 0, process.getuid?.() ?? 0];
    const frontend = 'spiffe://demo.example/frontend';
    const backend = 'spiffe://demo.example/backend';
    for (const [id, uid] of [[frontend, frontendUid], [backend, backendUid]]) {
      const args = ['entry', 'create', 'demo.example', '--spiffe-id', id, '--parent-id', 'spiffe://demo.example/agent/edge/node-1', '--selector', `unix:uid:${uid}`];
      process.stdout.write(`$ tpctl ${args.join(' ')}\n`);
      const created = JSON.parse(tpctl(env, [...args, '--output', 'json'], { quiet: true }));
      process.stdout.write(`entry ${created.id} → ${created.spiffe_id} for processes of uid ${uid}\n`);
    }
    if (!root) process.stdout.write('(not root: both workloads run as this uid, so each picks its own SVID by SPIFFE ID)\n');
    const workloadPort = await freePort();
    const asUid = (uid) => (root ? { uid, gid: uid } : {});
    const backendProcess = spawn(process.execPath, [`${ROOT}/tools/demo-workload.mjs`, 'server', socketPath, backend, frontend, String(workloadPort)], { stdio: ['ignore', 'inherit', 'inherit'], ...asUid(backendUid) });
    children.push(backendProcess);
    const frontendProcess = spawn(process.execPath, [`${ROOT}/tools/demo-workload.mjs`, 'client', socketPath, frontend, backend, String(workloadPort), '10'], { stdio: ['ignore', 'inherit', 'inherit'], ...asUid(frontendUid) });
    children.push(frontendProcess);
    const frontendDone = new Promise((resolve) => frontendProcess.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 2500));
    const deployment = JSON.parse(tpctl(env, ['trust-domain', 'deployment', 'list', 'demo.example', '--output', 'json'], { quiet: true }))[0];
    const keysets = JSON.parse(tpctl(env, ['trust-domain', 'deployment', 'keyset', 'list', 'demo.example', deployment.id, '--output', 'json'], { quiet: true }));
    const active = (Array.isArray(keysets) ? keysets : keysets.items).find((k) => k.state === 'active');
    process.stdout.write('--- forcing a CA rotation while they talk: the agent renews both SVIDs, the workloads pick them up ---\n');
    tpctl(env, ['trust-domain', 'deployment', 'keyset', 'taint', 'demo.example', deployment.id, active.id]);
    const code = await frontendDone;
    if (code !== 0) throw new Error(`the frontend workload failed (${code})`);

    step('every change is an event in the append-only log (JetStream)');
    const nc = await connectNatsAs('admin');
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    process.stdout.write(`stream ${stream}: ${info.state.messages} events, deny_delete=${info.config.deny_delete}, deny_purge=${info.config.deny_purge}\n`);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      // One message holds the events of one decision: an envelope, or an array of them.
      const stored = JSON.parse(new TextDecoder().decode(message.data));
      for (const event of Array.isArray(stored) ? stored : [stored]) {
        process.stdout.write(`  #${String(seq).padStart(2)} ${event.type.padEnd(28)} ${event.aggregateType}/${event.aggregateId}  by ${event.actor.kind}:${event.actor.id}\n`);
      }
    }
    const purge = await jsm.streams.purge(stream).then(() => 'allowed?!', (e) => `refused (${e.message})`);
    process.stdout.write(`purging the stream as the NATS admin → ${purge}\n`);

    step('the bus is a trust boundary: every service has its own NATS user with least privilege');
    const anonymous = await connect({ servers: NATS_URL.replace(/^nats:\/\//, ''), reconnect: false }).then(
      async (c) => (await c.close(), 'accepted?!'),
      (e) => `refused (${e.message})`,
    );
    process.stdout.write(`an anonymous connection → ${anonymous}\n`);
    const registryNc = await connectNatsAs('registry');
    const attempt = (what, promise) =>
      promise.then(
        () => process.stdout.write(`${what} → allowed?!\n`),
        (e) => process.stdout.write(`${what} → refused (${e.message})\n`),
      );
    await attempt('the registry deletes the stream', jetstreamManager(registryNc).then((m) => m.streams.delete(stream)));
    await attempt(`the registry publishes a CA event (${prefix}.evt.<tenant>.ca.…)`, registryNc.request(`${prefix}.evt.${org.id}.ca.tdd-0000000000`, '{}', { timeout: 2000 }));
    const listener = registryNc.subscribe(`${prefix}.cmd.signer.bundle`);
    await registryNc.flush();
    const closedOrOpen = Promise.race([listener.closed.then((e) => (e ? Promise.reject(e) : undefined)), new Promise((r) => setTimeout(r, 1000))]);
    await attempt('the registry listens for signer requests (to answer in its place)', closedOrOpen);
    await registryNc.close();

    step('the audit chain: every command of the organization, refusals included, hash-linked and anchored in the event log');
    const audited = await api('GET', '/api/v1/audit?limit=1000');
    for (const record of audited.json.items.slice(0, 6)) {
      process.stdout.write(`  #${String(record.seq).padStart(3)} ${record.occurredAt} ${record.actor.id} ${record.action} → ${record.status}${record.code ? ` ${record.code}` : ''}  ${record.hash.slice(0, 12)}…\n`);
    }
    process.stdout.write(`  … ${audited.json.items.length} records\n`);
    const anchored = await api('POST', '/api/v1/audit/anchor');
    process.stdout.write(`POST /api/v1/audit/anchor → head ${anchored.json.anchored?.seq} anchored in the event log (audit.anchored)\n`);
    const verdict = await api('POST', '/api/v1/audit/verify');
    process.stdout.write(`POST /api/v1/audit/verify → ${JSON.stringify(verdict.json)}\n`);

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
    await jsm.streams.delete(require(`${ROOT}/libs/bus/dist/index.js`).auditStreamName(stream)).catch(() => undefined);
    await nc.close();
    step('done: the demo stream and database are removed');
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await federation.stop();
    await signer.stop();
    await registry.stop();
    await auth.stop();
    await dropDatabase(database);
  }
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

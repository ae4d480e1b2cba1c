// Starts a private nats-server with the project's auth configuration (infra/local) on a free
// port and checks that the services' user cannot delete the event stream, purge it or delete
// messages, while it can still create the stream and append.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { toEnvelope, uuidv7, type OrganizationEvent } from '@trustplane/events';
import { repoRoot, testStreamSettings } from '@trustplane/testkit';
import { EventLog } from './index.js';

let server: ChildProcess;
let port: number;
let service: NatsConnection;
let admin: NatsConnection;
const servicePassword = uuidv7();
const adminPassword = uuidv7();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function connectWithRetry(user: string, pass: string): Promise<NatsConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect({ servers: `127.0.0.1:${port}`, user, pass });
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

before(async () => {
  port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tp-nats-auth-'));
  const config = readFileSync(join(repoRoot(), 'infra/local/nats-auth.conf.tmpl'), 'utf8')
    .replace('{{PORT}}', String(port))
    .replace('{{STORE_DIR}}', join(dir, 'store'))
    .replace('{{SERVICE_PASSWORD}}', servicePassword)
    .replace('{{ADMIN_PASSWORD}}', adminPassword);
  writeFileSync(join(dir, 'nats.conf'), config);
  server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
  service = await connectWithRetry('tp-service', servicePassword);
  admin = await connectWithRetry('tp-admin', adminPassword);
});

after(async () => {
  await service?.close();
  await admin?.close();
  server?.kill('SIGTERM');
});

test('the service user can create the stream and append, but cannot delete or purge', async () => {
  const settings = testStreamSettings('perm');
  const log = await EventLog.open(service, settings);
  const ref = { tenant: 't-0000000001', aggregateType: 'organization', aggregateId: 't-0000000001' };
  const event = toEnvelope<OrganizationEvent>(
    { type: 'organization.created', schemaVersion: 1, data: { name: 'perm' } },
    { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 't' }, causationId: 'c', correlationId: 'c' },
    uuidv7(),
  );
  const { version } = await log.append(ref, 0, [event]);
  const jsm = await jetstreamManager(service, { timeout: 2_000 });
  await assert.rejects(jsm.streams.delete(settings.streamName), /permission|timeout/i, 'stream delete refused');
  await assert.rejects(jsm.streams.purge(settings.streamName), /permission|timeout|not permitted/i, 'purge refused');
  await assert.rejects(jsm.streams.deleteMessage(settings.streamName, version), /permission|timeout|not permitted/i);
  const adminJsm = await jetstreamManager(admin);
  const info = await adminJsm.streams.info(settings.streamName);
  assert.equal(info.state.messages, 1, 'the event is still there');
  // The operator role can remove the stream (this is what the permission split is for).
  assert.equal(await adminJsm.streams.delete(settings.streamName), true);
});

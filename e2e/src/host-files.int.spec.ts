// The host as a trust boundary (docs/security.md, "The host"): the local stack's files that
// hold credentials are readable by their owner only, and what `ps` shows of a running service
// holds none of its credentials. (The signer's KEK, sealed key store and custody sockets, and the
// agent's data directory, are checked where they are created: libs/keymanager disk.int.spec,
// custody.int.spec, services/agent state-store.int.spec.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  freePort,
  repoRoot,
  startServiceProcess,
  testServiceEnv,
  testStreamSettings,
  type RunningService,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';

const local = join(repoRoot(), '.local');

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

test('.local/stack.env (every bus user’s password) is 0600', () => {
  const env = join(local, 'stack.env');
  assert.ok(existsSync(env), 'npm test writes it (infra/local/stack.sh ensure)');
  assert.match(readFileSync(env, 'utf8'), /^TP_NATS_ADMIN_PASSWORD=\S+$/m, 'it does hold credentials');
  assert.equal(modeOf(env), 0o600);
});

test("the checkout's own nats-server keeps its users' passwords in a 0700 directory, files 0600", (t) => {
  const nats = join(local, 'nats');
  if (!existsSync(join(nats, 'nats.conf'))) {
    t.skip('an external NATS server is used (NATS_URL given with the bus users)');
    return;
  }
  assert.equal(modeOf(nats), 0o700);
  assert.equal(modeOf(join(nats, 'credentials.env')), 0o600);
  assert.equal(modeOf(join(nats, 'nats.conf')), 0o600);
});

describe('a running service', () => {
  let nc: NatsConnection;
  let db: TestDatabase;
  let stream: TestStream;
  let registry: RunningService;
  let env: Record<string, string>;

  before(async () => {
    nc = await connectTestNats();
    db = await createTestDatabase('host_files');
    stream = testStreamSettings('host_files');
    const port = await freePort();
    env = { ...testServiceEnv('registry', db, stream), TP_REGISTRY_PORT: String(port) };
    registry = await startServiceProcess('registry', env, port);
  });

  after(async () => {
    await registry.stop();
    await deleteTestStream(nc, stream.streamName);
    await nc.close();
    await db.drop();
  });

  test('ps, which every user of the host can run, shows none of its credentials: they are in its environment, which only its user and root can read', () => {
    const pid = registry.process.pid;
    assert.ok(pid !== undefined);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    assert.match(cmdline, /services\/registry\/dist\/main\.js/);
    const password = env['TP_NATS_PASSWORD'] ?? '';
    assert.ok(password.length > 0);
    assert.ok(!cmdline.includes(password), 'the NATS password is not on the command line');
    assert.ok(!cmdline.includes(env['DATABASE_URL'] ?? '\0'), 'nor the database URL');
    const environ = statSync(`/proc/${pid}/environ`);
    assert.equal(environ.mode & 0o077, 0, '/proc/<pid>/environ is private to the process owner');
  });
});

// The assembled agent core in this process against a real signer process: attestation,
// entries pushed into the snapshot with SVIDs, JWT-SVID minting, restart from the persisted
// identity without attesting again, and a persisted state that cannot be read: refused, logged,
// counted, never silently re-attested over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { eventually } from '@trustplane/testkit';
import { startTestSigner, type TestSigner } from '../testing/signer.js';
import { WorkloadApiStats } from '../workload/stats.js';
import { AgentCore } from './agent-core.js';
import { startHealthServer } from './health.js';
import { AgentStateError, STATE_FILE } from './state-store.js';

let signer: TestSigner;
const work = mkdtempSync(join(tmpdir(), 'tp-agent-core-'));

before(async () => {
  signer = await startTestSigner('agent_core', 'core.example');
});

after(async () => {
  await signer.close();
});

/** A logger whose lines are kept (JSON objects). */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

test('attests, serves pushed entries with SVIDs, mints JWT-SVIDs; a restart resumes the identity without attesting', async () => {
  const dataDir = join(work, 'node-1');
  const settings = { ...(await signer.joinTokenSettings('node-1')), dataDir, logger: signer.logger };
  const core = new AgentCore(settings);
  let changes = 0;
  core.onChange(() => (changes += 1));
  await core.start();
  try {
    assert.equal(core.spiffeId, signer.agentId('node-1'));
    await eventually(() => core.connected, 10_000, 'connected');
    await signer.createEntry('/core/web', signer.agentId('node-1'), ['unix:uid:1000']);
    await eventually(() => core.snapshot().identities.some((i) => i.x509 !== undefined), 10_000, 'SVID in the snapshot');
    const [web] = core.snapshot().identities;
    assert.equal(web?.spiffeId, 'spiffe://core.example/core/web');
    const leaf = new X509Certificate(web?.x509?.chain[0] ?? Buffer.alloc(0));
    assert.ok(core.snapshot().bundle.x509Authorities.some((ca) => leaf.verify(new X509Certificate(ca).publicKey)), 'the bundle verifies the SVID');
    assert.ok(changes > 0, 'listeners were told');
    const jwt = await core.mintJwtSvid('spiffe://core.example/core/web', ['aud']);
    assert.equal(jwt.token.split('.').length, 3);
    await assert.rejects(core.mintJwtSvid('spiffe://core.example/nobody', ['aud']), /no entry/);
  } finally {
    core.stop();
  }
  // Same data directory, no join token: resumes, the signer accepts the persisted SVID.
  const { joinToken: _used, ...withoutToken } = settings;
  const resumed = new AgentCore(withoutToken);
  await resumed.start();
  try {
    assert.equal(resumed.spiffeId, signer.agentId('node-1'));
    await eventually(() => resumed.connected, 10_000, 'reconnected with the persisted SVID');
    await eventually(() => resumed.counts().svids === 1, 10_000, 'entry served again');
  } finally {
    resumed.stop();
  }
});

for (const [what, corrupt, code] of [
  ['unparseable', (dir: string) => writeFileSync(join(dir, STATE_FILE), '{not json'), 'STATE_CORRUPT'],
  ['with fields missing', (dir: string) => writeFileSync(join(dir, STATE_FILE), '{"spiffeId":"spiffe://core.example/x"}'), 'STATE_CORRUPT'],
] as const) {
  test(`a persisted state ${what}: the core refuses to start, names the file, logs and counts it, and does not attest`, async () => {
    const dataDir = join(work, `corrupt-${code}-${what.length}`);
    const settings = { ...(await signer.joinTokenSettings(`node-${what.length}`)), dataDir, logger: signer.logger };
    const first = new AgentCore(settings);
    await first.start();
    first.stop();
    corrupt(dataDir);

    const { logger, lines } = capturingLogger();
    const refused = new AgentCore({ ...settings, logger });
    const error = await refused.start().then(
      () => assert.fail('started over a corrupt state'),
      (e: unknown) => e,
    );
    refused.stop();
    assert.ok(error instanceof AgentStateError);
    assert.equal(error.code, code);
    assert.equal(error.file, join(dataDir, STATE_FILE));
    assert.equal(refused.refused, error);
    assert.equal(refused.stats.stateLoadFailures, 1);
    assert.equal(refused.ready, false, 'no identity: nothing is served');
    const logged = lines.find((l) => l['level'] === 50);
    assert.equal(logged?.['file'], join(dataDir, STATE_FILE));
    assert.equal(logged?.['code'], code);
    assert.ok(!lines.some((l) => l['msg'] === 'agent attested'), 'never re-attested');

    // What an operator sees of the process: not ready, naming the file; the failure counted.
    const health = await startHealthServer({ host: '127.0.0.1', port: 0, core: refused, workloadStats: new WorkloadApiStats(), serving: () => false });
    try {
      const ready = await fetch(`http://127.0.0.1:${health.port}/readyz`);
      assert.equal(ready.status, 503);
      const report = (await ready.json()) as { status: string; checks: Record<string, string> };
      assert.equal(report.status, 'not ready');
      assert.ok(report.checks['identity']?.includes(join(dataDir, STATE_FILE)), JSON.stringify(report));
      const metrics = await (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
      assert.match(metrics, /^tp_agent_state_load_failures\{service="agent"\} 1$/m);
    } finally {
      await health.close();
    }
  });
}

test('a bundle update that cannot be read is refused, logged and counted; the bundle held is kept, never emptied', async () => {
  const dataDir = join(work, 'bad-bundle');
  const { logger, lines } = capturingLogger();
  const core = new AgentCore({ ...(await signer.joinTokenSettings('bad-bundle')), dataDir, logger });
  await core.start();
  try {
    await eventually(() => core.connected && core.snapshot().bundle.jwtAuthorities.length > 0, 10_000, 'the bundle with its JWT authorities');
    const held = core.snapshot().bundle;
    // What the bundle stream delivers, with the JWT authorities garbled (as a broken or hostile
    // peer could send them).
    const onBundles = (core as unknown as { onBundles(message: unknown): void }).onBundles.bind(core);
    onBundles({
      bundle: { trustDomain: 'core.example', x509Authorities: [...held.x509Authorities], jwtAuthorities: Buffer.from('{"keys": oops'), sequence: 99n },
      federatedBundles: [],
      taintedX509Authorities: [],
    });
    assert.equal(core.stats.bundleUpdatesRefused, 1);
    assert.deepEqual(core.snapshot().bundle.jwtAuthorities, held.jwtAuthorities, 'the JWT authorities held are kept');
    const logged = lines.find((l) => l['level'] === 50 && l['code'] === 'JWT_BUNDLE_UNREADABLE');
    assert.ok(logged, JSON.stringify(lines.slice(-5)));
    assert.match(String(logged['msg']), /bundle update from the signer refused/);
  } finally {
    core.stop();
  }
});

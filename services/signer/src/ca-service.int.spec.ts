// CaService on an injected clock, with real NATS, Postgres and a key custody child: every valid
// trust-domain name gets a CA; a CA that cannot be built leaves no keys behind and is retried
// with growing delays; and days of rotation run on the schedule, releasing dropped keys (a
// release that fails is logged and counted, never swallowed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { activeKeyset, keyHandlesFor } from '@trustplane/ca-domain';
import { buildCaCertificate, CryptoError } from '@trustplane/crypto';
import { eventually } from '@trustplane/testkit';
import type { CaCertificateBuilder, ServedDeployment } from './ca-service.js';
import { ManualClock, metricValue } from './testing/clock.js';
import { startSignerHarness, type SeededTrustDomain, type SignerHarness } from './testing/harness.js';

const HOUR = 3_600_000;
let h: SignerHarness;
let logs = '';
const clock = new ManualClock();
/** Trust domains whose CA build fails, and the clock time of every attempt per name. */
const failing = new Set<string>();
const attempts = new Map<string, number[]>();

const builder: CaCertificateBuilder = async (request, signer) => {
  attempts.set(request.trustDomain, [...(attempts.get(request.trustDomain) ?? []), clock.now().getTime()]);
  if (failing.has(request.trustDomain)) throw new CryptoError('OUTPUT_VALIDATION_FAILED', 'injected CA build failure');
  return buildCaCertificate(request, signer);
};

before(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  h = await startSignerHarness('signer_ca', {}, pino({ level: 'info' }, sink), { clock, buildCa: builder });
});
after(async () => h.close());

function served(td: SeededTrustDomain): ServedDeployment {
  return { tenant: td.tenant, deploymentId: td.deploymentId, trustDomainId: td.trustDomainId, trustDomain: td.trustDomain };
}

async function metrics(): Promise<string> {
  return (await fetch(`${h.signer.url}/metrics`)).text();
}

async function keyCount(): Promise<number> {
  return (await h.signer.custody.keyManagerFor('default').list()).length;
}

test('a 255-character trust domain gets an active CA', async () => {
  const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
  assert.equal(name.length, 255);
  const td = await h.seed(name);
  const active = activeKeyset(await h.signer.ca.state(served(td)));
  assert.ok(active, 'an active keyset');
  const { svid } = await h.signer.ca.mintX509(served(td), {
    spiffeId: `spiffe://${name}/web`,
    publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
  });
  assert.equal(svid.chain.length, 2);
});

test('a CA build that fails releases the keys it created and is retried after 1 s, 2 s, 4 s, 8 s', async () => {
  const name = 'broken-ca.example';
  failing.add(name);
  const keysBefore = await keyCount();
  const releaseFailuresBefore = metricValue(await metrics(), 'tp_signer_key_release_failures_total');
  const rotationFailuresBefore = metricValue(await metrics(), 'tp_signer_rotation_failures_total');
  const td = await h.seed(name, { wait: false });
  await eventually(async () => metricValue(await metrics(), 'tp_signer_rotation_failures_total') > rotationFailuresBefore, 10_000, 'the first failed attempt');
  assert.equal(attempts.get(name)?.length, 1);
  assert.equal(await keyCount(), keysBefore, 'both keys of the failed attempt were released');

  // 20 simulated seconds in steps of 250 ms, one worker pass per step.
  for (let step = 0; step < 80; step++) {
    clock.advance(250);
    await h.signer.worker.tick();
  }
  const times = attempts.get(name) ?? [];
  const delays = times.slice(1).map((t, i) => t - (times[i] ?? 0));
  assert.deepEqual(delays.slice(0, 4), [1_000, 2_000, 4_000, 8_000], `attempts at ${JSON.stringify(delays)}`);
  assert.ok(times.length <= 6, 'no attempt on every tick');
  assert.equal(await keyCount(), keysBefore, 'no key left behind by any attempt');
  const text = await metrics();
  assert.ok(metricValue(text, 'tp_signer_ca_build_failures_total') >= 5);
  assert.ok(metricValue(text, 'tp_signer_rotation_failures_total') >= 5);
  assert.equal(metricValue(text, 'tp_signer_key_release_failures_total'), releaseFailuresBefore);
  assert.match(logs, /injected CA build failure/, 'the cause is logged');

  // Fixed: the next attempt (after the current delay) builds the CA.
  failing.delete(name);
  for (let step = 0; step < 80 && activeKeyset(await h.signer.ca.state(served(td))) === undefined; step++) {
    clock.advance(1_000);
    await h.signer.worker.tick();
  }
  assert.ok(activeKeyset(await h.signer.ca.state(served(td))), 'the CA is built once the fault is gone');
  assert.equal(await keyCount(), keysBefore + 2);
});

test('days of rotation on the injected clock: the schedule is kept, dropped keys are released, a failed release is counted', async () => {
  const td = await h.seed('days.example');
  const deployment = served(td);
  const keyManager = h.signer.custody.keyManagerFor(td.deploymentId);
  const start = clock.now().getTime();
  const first = activeKeyset(await h.signer.ca.state(deployment));
  assert.ok(first);
  const releaseFailuresBefore = metricValue(await metrics(), 'tp_signer_key_release_failures_total', { reason: 'KEY_NOT_FOUND' });
  // Fault: the first keyset's JWT key disappears from the key manager before its drop.
  await keyManager.release(keyHandlesFor(first.keysetId).jwt);

  const stepMs = HOUR / 2;
  for (let at = start; at < start + 3 * 24 * HOUR; at += stepMs) {
    clock.advance(stepMs);
    await h.signer.worker.tick();
    const state = await h.signer.ca.state(deployment);
    const active = activeKeyset(state);
    assert.ok(active, `an active keyset at +${(clock.now().getTime() - start) / HOUR} h`);
    assert.ok(active.notAfter > clock.now().getTime(), 'the active CA never expires');
  }

  const keysets = await h.signer.ca.keysets(deployment);
  const prepared = keysets.map((k) => k.preparedAt).sort((a, b) => a - b);
  // 24 h CAs: a successor is prepared at each CA's half-life, i.e. every 12 h.
  assert.equal(prepared.length, 7, JSON.stringify(keysets.map((k) => [k.keysetId, k.status])));
  for (let i = 1; i < prepared.length; i++) {
    const gap = (prepared[i] ?? 0) - (prepared[i - 1] ?? 0);
    assert.ok(gap >= 12 * HOUR - stepMs && gap <= 12 * HOUR + stepMs, `prepared ${gap / HOUR} h after the previous one`);
  }
  for (const keyset of keysets) {
    if (keyset.activatedAt === null) continue;
    const predecessor = keysets.find((k) => k.deactivatedAt === keyset.activatedAt && k.keysetId !== keyset.keysetId);
    if (predecessor !== undefined) assert.ok(keyset.activatedAt >= predecessor.notAfter - 4 * HOUR, 'activated no earlier than lifetime/6 before the predecessor expires');
  }
  const dropped = keysets.filter((k) => k.status === 'dropped');
  assert.ok(dropped.length >= 4, `${dropped.length} keysets dropped`);
  const held = new Set((await keyManager.list()).map((k) => k.keyId));
  for (const keyset of keysets) {
    const handles = keyHandlesFor(keyset.keysetId);
    const expected = keyset.status !== 'dropped';
    assert.equal(held.has(handles.x509), expected, `${keyset.keysetId} (${keyset.status}) x509 key`);
    if (keyset.keysetId !== first.keysetId) assert.equal(held.has(handles.jwt), expected, `${keyset.keysetId} (${keyset.status}) jwt key`);
  }
  const failures = metricValue(await metrics(), 'tp_signer_key_release_failures_total', { reason: 'KEY_NOT_FOUND' });
  assert.equal(failures, releaseFailuresBefore + 1, 'the failed release is counted');
  assert.match(logs, /CA key release failed/);
  assert.ok(logs.includes(keyHandlesFor(first.keysetId).jwt), 'the log names the key');
});

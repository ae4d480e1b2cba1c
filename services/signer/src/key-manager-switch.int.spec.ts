// A deployment's `key-manager` config section, changed through the event stream, moves its CA
// keys to a webhook KeyManager without restarting the signer (the reference webhook's own log
// proves which process signs from then on), with a bearer token that the signer sealed and
// that no event or row holds in plaintext. Sections outside the operator's policy are refused
// and leave the deployment on its key manager; deleting the deployment stops its custody child.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uuidv7 } from '@trustplane/events';
import { handleCommand, type CommandContext } from '@trustplane/eventstore';
import { makeTestPki, spawnReferenceWebhook, type TestPki, type WebhookProcess } from '@trustplane/keymanager/dist/test-support/fixtures.js';
import {
  CONFIG_SECTION,
  configSectionDecider,
  configSectionId,
  DEPLOYMENT,
  deploymentDecider,
  TRUST_DOMAIN,
  trustDomainDecider,
  validateAgentSpec,
} from '@trustplane/registry-domain';
import { eventually } from '@trustplane/testkit';
import type { KeysetReply, SealSecretReply } from '@trustplane/signer-api';
import type { ServedDeployment } from './ca-service.js';
import { metricValue } from './testing/clock.js';
import { startSignerHarness, type SeededTrustDomain, type SignerHarness } from './testing/harness.js';

const TOKEN = 'km-bearer-7d1f0c2a9b';
let h: SignerHarness;
let td: SeededTrustDomain;
let webhook: WebhookProcess;
let pki: TestPki;

before(async () => {
  pki = makeTestPki('tp-signer-pki-');
  const tokenFile = join(pki.dir, 'expected-token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  webhook = await spawnReferenceWebhook(pki, ['--token-file', tokenFile]);
  // The operator's policy: files only under the PKI directory, webhooks only this one.
  h = await startSignerHarness('signer_km', { TP_SIGNER_KM_PATH_ROOTS: pki.dir, TP_SIGNER_KM_WEBHOOK_URLS: webhook.url });
  td = await h.seed('webhook.example');
});
after(async () => {
  await h.close();
  await webhook.stop();
});

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'system', id: 'test' }, correlationId: id, causationId: id, now: new Date() };
}

// The registry validates documents before storing them; the test stores them as they are, so
// the signer's own checks are what is tested.
const decider = configSectionDecider({
  'trust-domain-deployment': { 'key-manager': (spec: unknown) => ({ ok: true, spec: { ...(spec as Record<string, unknown>) } }) },
  cluster: { agent: validateAgentSpec },
});

async function setSection(seeded: SeededTrustDomain, spec: Record<string, unknown>): Promise<void> {
  await handleCommand(
    h.log,
    decider,
    { tenant: seeded.tenant, aggregateType: CONFIG_SECTION, aggregateId: configSectionId(seeded.deploymentId, 'key-manager') },
    { kind: 'set', targetKind: 'trust-domain-deployment', targetId: seeded.deploymentId, trustDomainId: seeded.trustDomainId, section: 'key-manager', schema: 'v1', spec },
    context(),
  );
}

function served(seeded: SeededTrustDomain): ServedDeployment {
  return { tenant: seeded.tenant, deploymentId: seeded.deploymentId, trustDomainId: seeded.trustDomainId, trustDomain: seeded.trustDomain };
}

async function activeKeysetId(seeded: SeededTrustDomain): Promise<string | undefined> {
  return (await h.signer.ca.keysets(served(seeded))).find((k) => k.status === 'active')?.keysetId;
}

async function refusals(): Promise<number> {
  return metricValue(await (await fetch(`${h.signer.url}/metrics`)).text(), 'tp_signer_key_manager_configs_refused_total');
}

test('switching to a webhook with a sealed bearer token moves signing to the webhook, without a restart', async () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
  const diskKeyset = await activeKeysetId(td);
  assert.ok(diskKeyset);
  const authority = await h.authority(td.tenant, ['trust-domains:write']);
  const sealed = await h.request<SealSecretReply>('seal-secret', { authority, deploymentId: td.deploymentId, purpose: 'webhook-bearer-token', secret: TOKEN });
  assert.ok(sealed.ok, JSON.stringify(sealed));
  assert.match(sealed.secretRef, /^sec-[0-9a-f]{20}$/);

  await setSection(td, { kind: 'webhook', webhookURL: webhook.url, authType: 'bearer', tokenRef: sealed.secretRef, caCertPath: pki.caCertPath });
  await eventually(async () => (await activeKeysetId(td)) !== diskKeyset, 20_000, 'a keyset made with the webhook KeyManager');
  const { svid } = await h.signer.ca.mintX509(served(td), { spiffeId: 'spiffe://webhook.example/w', publicKey: spki });
  assert.equal(svid.chain.length, 2);
  const signLines = webhook.lines.filter((l) => l['event'] === 'sign');
  assert.ok(signLines.length > 0, 'the webhook signed (with the bearer token it requires)');
  assert.ok(signLines.every((l) => l['pid'] === webhook.pid && l['pid'] !== process.pid), 'signatures came from the webhook process');
  const jwt = await h.signer.ca.mintJwt(served(td), { spiffeId: 'spiffe://webhook.example/w', audience: ['a'] });
  assert.ok(jwt.token.length > 0);
  const keysets = await h.request<KeysetReply>('keyset', { authority: await h.authority(td.tenant, ['trust-domains:read']), op: 'list', deploymentId: td.deploymentId });
  assert.ok(keysets.ok);
  if (keysets.ok) assert.equal(keysets.keysets.find((k) => k.id === diskKeyset)?.state, 'old', 'the disk keyset stays in the bundle as old');

  // The token is nowhere in plaintext: not in the log, not in any row of the signer's database.
  const events = await h.log.readAggregate({ tenant: td.tenant, aggregateType: CONFIG_SECTION, aggregateId: configSectionId(td.deploymentId, 'key-manager') });
  assert.ok(events.length > 0 && !JSON.stringify(events).includes(TOKEN));
  const tables = await h.db.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'signer'");
  for (const { table_name } of tables.rows) {
    const rows = await h.db.pool.query(`SELECT * FROM signer."${table_name}"`);
    assert.ok(!JSON.stringify(rows.rows).includes(TOKEN), `${table_name} holds the token`);
  }
});

test('a sealed token opens only for its own deployment; the seal needs a write scope', async () => {
  const other = await h.seed('other-km.example');
  const readOnly = await h.request<SealSecretReply>('seal-secret', {
    authority: await h.authority(other.tenant, ['trust-domains:read']),
    deploymentId: other.deploymentId,
    purpose: 'webhook-bearer-token',
    secret: 'x',
  });
  assert.equal(readOnly.ok ? 'ok' : readOnly.error.code, 'INSUFFICIENT_SCOPE');
  const foreign = await h.request<SealSecretReply>('seal-secret', { authority: await h.authority(other.tenant), deploymentId: td.deploymentId, purpose: 'webhook-bearer-token', secret: 'x' });
  assert.equal(foreign.ok ? 'ok' : foreign.error.code, 'DEPLOYMENT_NOT_SERVED', "another organization's deployment");
  // td's sealed reference, named in other's section: refused, other keeps its key manager.
  const ref = await h.request<SealSecretReply>('seal-secret', { authority: await h.authority(td.tenant), deploymentId: td.deploymentId, purpose: 'webhook-bearer-token', secret: TOKEN });
  assert.ok(ref.ok);
  const before = await refusals();
  const keysetBefore = await activeKeysetId(other);
  await setSection(other, { kind: 'webhook', webhookURL: webhook.url, authType: 'bearer', tokenRef: ref.secretRef, caCertPath: pki.caCertPath });
  await eventually(async () => (await refusals()) === before + 1, 10_000, 'the section refused');
  assert.equal(await activeKeysetId(other), keysetBefore, 'still on its key manager');
});

test('hostile sections are refused: paths outside the roots, symbolic links out of them, URLs off the allow-list, plaintext tokens', async () => {
  const victim = await h.seed('hostile.example');
  const escape = join(pki.dir, 'escape');
  mkdirSync(join(pki.dir, 'real'), { recursive: true });
  symlinkSync('/etc', escape);
  const hostile: Record<string, unknown>[] = [
    { kind: 'disk', dir: '/var/tmp/tp-hostile-keys', kekPath: '/var/tmp/tp-hostile-kek', createKek: true },
    { kind: 'disk', dir: join(pki.dir, '..', 'keys'), kekPath: join(pki.dir, 'kek'), createKek: true },
    { kind: 'disk', dir: join(escape, 'tp-keys'), kekPath: join(pki.dir, 'real', 'kek'), createKek: true },
    { kind: 'webhook', webhookURL: webhook.url, authType: 'bearer', tokenPath: '/etc/hostname', caCertPath: pki.caCertPath },
    { kind: 'webhook', webhookURL: 'https://203.0.113.7/', caCertPath: pki.caCertPath },
    { kind: 'webhook', webhookURL: 'file:///etc/passwd' },
    { kind: 'webhook', webhookURL: webhook.url, authType: 'bearer', token: TOKEN, caCertPath: pki.caCertPath },
  ];
  const keysetBefore = await activeKeysetId(victim);
  for (const spec of hostile) {
    const before = await refusals();
    await setSection(victim, spec);
    await eventually(async () => (await refusals()) === before + 1, 10_000, `refusal of ${JSON.stringify(spec)}`);
  }
  assert.equal(await activeKeysetId(victim), keysetBefore, 'the deployment kept its key manager throughout');
  assert.deepEqual(h.signer.custody.dedicatedDeployments().filter((d) => d === victim.deploymentId), [], 'no custody child was started for it');
  for (const path of ['/var/tmp/tp-hostile-keys', '/var/tmp/tp-hostile-kek', '/etc/tp-keys', join(pki.dir, '..', 'keys')]) {
    assert.equal(existsSync(path), false, `${path} was created`);
  }
});

test('deleting the deployment stops its custody child', async () => {
  const pid = h.signer.custody.pidOf(td.deploymentId);
  assert.ok(pid !== undefined, 'the webhook deployment has its own custody child');
  process.kill(pid, 0);
  await handleCommand(h.log, deploymentDecider, { tenant: td.tenant, aggregateType: DEPLOYMENT, aggregateId: td.deploymentId }, { kind: 'delete', force: true, activeKeys: 0, cascadeFromTrustDomain: true }, context());
  await handleCommand(h.log, trustDomainDecider, { tenant: td.tenant, aggregateType: TRUST_DOMAIN, aggregateId: td.trustDomainId }, { kind: 'delete', blockers: [] }, context());
  await eventually(() => !h.signer.custody.dedicatedDeployments().includes(td.deploymentId), 10_000, 'custody released');
  await eventually(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    10_000,
    'the child process gone',
  );
});

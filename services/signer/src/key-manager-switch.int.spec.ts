// A deployment's `key-manager` config section, changed through the event stream, moves its CA
// keys to a webhook KeyManager without restarting the signer; the reference webhook's own
// log proves which process signs from then on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { uuidv7 } from '@trustplane/events';
import { handleCommand } from '@trustplane/eventstore';
import { parseKeyManagerConfig } from '@trustplane/keymanager';
import { makeTestPki, spawnReferenceWebhook, type WebhookProcess } from '@trustplane/keymanager/dist/test-support/fixtures.js';
import { CONFIG_SECTION, configSectionDecider, configSectionId, validateAgentSpec } from '@trustplane/registry-domain';
import { eventually } from '@trustplane/testkit';
import type { KeysetReply, MintJwtReply, MintX509Reply } from '@trustplane/signer-api';
import { startSignerHarness, type SeededTrustDomain, type SignerHarness } from './testing/harness.js';

let h: SignerHarness;
let td: SeededTrustDomain;
let webhook: WebhookProcess;

before(async () => {
  h = await startSignerHarness('signer_km');
  td = await h.seed('webhook.example');
  webhook = await spawnReferenceWebhook(makeTestPki('tp-signer-pki-'));
});
after(async () => {
  await h.close();
  await webhook.stop();
});

// The registry validates documents before storing them; the test stores a known-good one.
const decider = configSectionDecider({
  'trust-domain-deployment': {
    'key-manager': (spec: unknown) => ({ ok: true, spec: { ...parseKeyManagerConfig(spec) } }),
  },
  cluster: { agent: validateAgentSpec },
});

test('switching the key-manager section to a webhook moves signing to the webhook, without a restart', async () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const mint = () => h.request<MintX509Reply>('mint-x509', { tenant: td.tenant, trustDomainId: td.trustDomainId, spiffeId: 'spiffe://webhook.example/w', publicKey: spki });
  const before = await mint();
  assert.equal(before.ok, true);
  const diskKeyset = before.ok ? before.keysetId : '';
  const pidBefore = h.signer.app.getHttpServer() ? process.pid : 0;

  const id = uuidv7();
  await handleCommand(
    h.log,
    decider,
    { tenant: td.tenant, aggregateType: CONFIG_SECTION, aggregateId: configSectionId(td.deploymentId, 'key-manager') },
    {
      kind: 'set',
      targetKind: 'trust-domain-deployment',
      targetId: td.deploymentId,
      trustDomainId: td.trustDomainId,
      section: 'key-manager',
      schema: 'v1',
      spec: { kind: 'webhook', webhookURL: webhook.url, caCertPath: makeTestPkiCa() },
    },
    { actor: { kind: 'system', id: 'test' }, correlationId: id, causationId: id, now: new Date() },
  );

  let after: MintX509Reply = before;
  await eventually(
    async () => {
      after = await mint();
      return after.ok && after.keysetId !== diskKeyset;
    },
    20_000,
    'a keyset made with the webhook KeyManager',
  );
  assert.equal(process.pid, pidBefore, 'same signer process');
  const signLines = webhook.lines.filter((l) => l['event'] !== 'listening');
  assert.ok(signLines.length > 0, 'the webhook signed');
  assert.ok(signLines.every((l) => l['pid'] === webhook.pid && l['pid'] !== process.pid), 'signatures came from the webhook process');
  const jwt = await h.request<MintJwtReply>('mint-jwt', { tenant: td.tenant, trustDomainId: td.trustDomainId, spiffeId: 'spiffe://webhook.example/w', audience: ['a'] });
  assert.equal(jwt.ok, true, JSON.stringify(jwt));
  const keysets = await h.request<KeysetReply>('keyset', { op: 'list', tenant: td.tenant, deploymentId: td.deploymentId });
  assert.ok(keysets.ok);
  if (keysets.ok) assert.equal(keysets.keysets.find((k) => k.id === diskKeyset)?.state, 'old', 'the disk keyset stays in the bundle as old');
});

function makeTestPkiCa(): string {
  // The webhook was started with a PKI whose CA sits next to its server certificate.
  const args = webhook.child.spawnargs;
  const cert = args[args.indexOf('--cert') + 1] ?? '';
  return cert.replace(/server\.pem$/, 'ca.pem');
}

// The managed signer builds a trust domain's bundle also from what its self-hosted deployments
// reported (deployment.reported in the log): two regions → both CAs and both JWT keys; a
// dropped keyset leaves the bundle; a CA of another trust domain never enters it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { uuidv7, type ReportedKeyset } from '@trustplane/events';
import { handleCommand, type CommandContext } from '@trustplane/eventstore';
import { buildCaCertificate, keyObjectSigner } from '@trustplane/crypto';
import { DEPLOYMENT, TRUST_DOMAIN, deploymentDecider, trustDomainDecider } from '@trustplane/registry-domain';
import { newResourceId } from '@trustplane/spiffe';
import { eventually } from '@trustplane/testkit';
import { startSignerHarness, type SignerHarness } from './testing/harness.js';

const TD = 'regions.example';
let h: SignerHarness;
const tenant = newResourceId('organization');
const trustDomainId = newResourceId('trustDomain');
const usWest = newResourceId('deployment');
const euCentral = newResourceId('deployment');

function context(): CommandContext {
  const id = uuidv7();
  return { actor: { kind: 'system', id: 'test' }, correlationId: id, causationId: id, now: new Date() };
}

async function keysetOf(trustDomain: string, keysetId: string, state: ReportedKeyset['state'] = 'active'): Promise<ReportedKeyset> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const authority = await buildCaCertificate(
    { trustDomain, publicKey: ca.publicKey.export({ type: 'spki', format: 'der' }), serialRandom: randomBytes(16), notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) },
    keyObjectSigner(ca.privateKey),
  );
  const jwt = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    keysetId,
    state,
    x509Authorities: [Buffer.from(authority.certificate).toString('base64')],
    jwtAuthorities: [{ kid: `kid-${keysetId}`, publicKeyJwk: jwt.publicKey.export({ format: 'jwk' }) as Record<string, string> }],
    notAfter: new Date(now + 86_400_000).toISOString(),
  };
}

async function report(deploymentId: string, keysets: ReportedKeyset[]): Promise<void> {
  await handleCommand(
    h.log,
    deploymentDecider,
    { tenant, aggregateType: DEPLOYMENT, aggregateId: deploymentId },
    { kind: 'report', trustDomainId, appliedPosition: 0, currentPosition: 1_000_000, keysets, agents: [], status: { state: 'serving', detail: '' }, digest: uuidv7() },
    context(),
  );
}

/** The x5c certificates and JWT kids of the published bundle. */
async function published(): Promise<{ x509: string[]; kids: string[]; sequence: number } | undefined> {
  const bundle = await h.signer.ca.bundle(tenant, trustDomainId);
  if (bundle === undefined) return undefined;
  const keys = bundle.document['keys'] as { use: string; x5c?: string[]; kid?: string }[];
  return {
    x509: keys.filter((k) => k.use === 'x509-svid').map((k) => k.x5c?.[0] ?? '').sort(),
    kids: keys.filter((k) => k.use === 'jwt-svid').map((k) => k.kid ?? '').sort(),
    sequence: bundle.sequence,
  };
}

before(async () => {
  h = await startSignerHarness('reported_bundle');
  await handleCommand(h.log, trustDomainDecider, { tenant, aggregateType: TRUST_DOMAIN, aggregateId: trustDomainId }, { kind: 'create', name: TD, description: '', trustDomainKind: 'self-hosted' }, context());
  for (const [id, name] of [[usWest, 'us-west-2'], [euCentral, 'eu-central-1']] as const) {
    await handleCommand(h.log, deploymentDecider, { tenant, aggregateType: DEPLOYMENT, aggregateId: id }, { kind: 'create', trustDomainId, name, region: name, managed: false }, context());
  }
});
after(async () => h.close());

test('two self-hosted regions report: both CAs and both JWT keys are in the published bundle', async () => {
  const west = await keysetOf(TD, 'ks-west');
  const east = await keysetOf(TD, 'ks-east');
  await report(usWest, [west]);
  await eventually(async () => (await published())?.x509.length === 1, 20_000, 'first region in the bundle');
  await report(euCentral, [east]);
  await eventually(async () => (await published())?.x509.length === 2, 20_000, 'both regions in the bundle');
  const bundle = await published();
  assert.deepEqual(bundle?.x509, [west.x509Authorities[0], east.x509Authorities[0]].sort());
  assert.deepEqual(bundle?.kids, ['kid-ks-east', 'kid-ks-west']);
  for (const der of bundle?.x509 ?? []) assert.ok(new X509Certificate(Buffer.from(der, 'base64')).ca);
  assert.equal(h.signer.ca.settings.bundleRefreshHintSeconds > 0, true);
  // A managed signer serves no self-hosted deployment: it never minted for them.
  assert.equal((await h.signer.ca.servedDeployments({ trustDomainId })).length, 0);
});

test('a dropped keyset leaves the bundle; a CA of another trust domain never enters it', async () => {
  const before = await published();
  assert.ok(before !== undefined);
  const next = await keysetOf(TD, 'ks-west-2');
  const foreign = await keysetOf('elsewhere.example', 'ks-foreign');
  const old = await keysetOf(TD, 'ks-west');
  // us-west-2 rotated: the old keyset is dropped, the new one active; plus a foreign CA smuggled in the log.
  await report(usWest, [{ ...old, state: 'dropped' }, next, foreign]);
  await eventually(async () => (await published())?.x509.includes(next.x509Authorities[0] ?? '') === true, 20_000, 'rotated CA in the bundle');
  const after = await published();
  assert.equal(after?.x509.length, 2, 'east + the new west CA');
  assert.ok(!after?.x509.includes(foreign.x509Authorities[0] ?? ''), 'the foreign CA is not in the bundle');
  assert.ok(!after?.kids.includes('kid-ks-west'), 'the dropped JWT key left the bundle');
  assert.ok((after?.sequence ?? 0) > before.sequence);
});

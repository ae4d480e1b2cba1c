// The signer's NATS request/reply contract as a trust boundary: a request that reaches the
// signer is re-checked whatever NATS let through. No authority, a forged one (unknown token,
// another organization's token, scopes the token does not hold, revoked, expired), a scope
// that does not allow the operation, or a deployment of another organization: refused with a
// code, counted, and nothing appended. There is no minting on the bus at all. A request whose
// reply subject is not a private inbox (none, the shared inbox, JetStream's `$JS.ACK…` of a
// stream message a push consumer delivered onto the signer's subject) is not read at all:
// ignored, logged, counted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { allEventsSubject, uuidv7 } from '@trustplane/events';
import { handleCommand } from '@trustplane/eventstore';
import { API_TOKEN, apiTokenDecider } from '@trustplane/registry-domain';
import type { ApiTokenAuthority, BundleReply, KeysetReply, SignerError } from '@trustplane/signer-api';
import { newResourceId } from '@trustplane/spiffe';
import { metricValue } from './testing/clock.js';
import { seedApiToken, startSignerHarness, type SeededTrustDomain, type SignerHarness } from './testing/harness.js';

let h: SignerHarness;
let a: SeededTrustDomain;
let b: SeededTrustDomain;
let aAdmin: ApiTokenAuthority;

before(async () => {
  h = await startSignerHarness('signer_requests');
  a = await h.seed('a.example');
  b = await h.seed('b.example');
  aAdmin = await h.authority(a.tenant);
});
after(async () => h.close());

function code(reply: { ok: boolean }): string {
  return reply.ok ? 'ok' : (reply as unknown as { error: SignerError }).error.code;
}

/** The number of events in the log (anything appended shows here). */
async function logLength(): Promise<number> {
  return h.log.lastSequence();
}

async function refusedCount(operation: string, refusal: string): Promise<number> {
  return metricValue(await (await fetch(`${h.signer.url}/metrics`)).text(), 'tp_signer_requests_refused_total', { operation, code: refusal });
}

const prepare = (authority: unknown, deploymentId: string) => h.request<KeysetReply>('keyset', { ...(authority === undefined ? {} : { authority }), op: 'prepare', deploymentId });

test('keyset prepare without an authority, or with a forged one, is refused and appends nothing', async () => {
  const revoked = await h.authority(a.tenant);
  const id = uuidv7();
  await handleCommand(h.log, apiTokenDecider, { tenant: a.tenant, aggregateType: API_TOKEN, aggregateId: revoked.tokenId }, { kind: 'revoke', authority: { kind: 'host' } }, { actor: { kind: 'system', id: 'test' }, correlationId: id, causationId: id, now: new Date() });
  const expired = await seedApiToken(h.log, a.tenant, ['admin'], { ttlDays: 1, at: new Date(Date.now() - 2 * 86_400_000) });
  const writer = await h.authority(a.tenant, ['trust-domains:write']);
  const cases: [string, unknown, string][] = [
    ['no authority', undefined, 'AUTHORITY_REQUIRED'],
    ['a malformed authority', { kind: 'api-token', tenant: a.tenant }, 'AUTHORITY_REQUIRED'],
    ['a token id that does not exist', { ...aAdmin, tokenId: newResourceId('apiToken') }, 'AUTHORITY_FORGED'],
    ["another organization's token under A's name", { ...(await h.authority(b.tenant)), tenant: a.tenant }, 'AUTHORITY_FORGED'],
    ['scopes the token does not hold', { ...writer, scopes: ['trust-domains:write', 'admin'] }, 'AUTHORITY_FORGED'],
    ['a revoked token', revoked, 'AUTHORITY_REVOKED'],
    ['an expired token', expired, 'AUTHORITY_EXPIRED'],
  ];
  for (const [what, authority, expected] of cases) {
    const before = await logLength();
    const counted = await refusedCount('keyset', expected);
    const reply = await prepare(authority, a.deploymentId);
    assert.equal(code(reply), expected, what);
    assert.equal(reply.ok ? 0 : reply.error.status, 403, what);
    assert.equal(await logLength(), before, `${what}: nothing appended`);
    assert.equal(await refusedCount('keyset', expected), counted + 1, `${what}: counted`);
  }
  // The old request shape (a bare tenant) is refused outright.
  assert.equal(code(await h.request<KeysetReply>('keyset', { tenant: a.tenant, op: 'prepare', deploymentId: a.deploymentId })), 'REQUEST_INVALID');
});

test('keyset prepare needs a write scope; a read scope lists; nothing is appended by a refusal', async () => {
  const reader = await h.authority(a.tenant, ['trust-domains:read', 'entries:write']);
  const before = await logLength();
  assert.equal(code(await prepare(reader, a.deploymentId)), 'INSUFFICIENT_SCOPE');
  for (const op of ['activate', 'taint', 'revoke'] as const) {
    assert.equal(code(await h.request<KeysetReply>('keyset', { authority: reader, op, deploymentId: a.deploymentId, keysetId: 'ks-x' })), 'INSUFFICIENT_SCOPE', op);
  }
  assert.equal(await logLength(), before);
  const listed = await h.request<KeysetReply>('keyset', { authority: reader, op: 'list', deploymentId: a.deploymentId });
  assert.equal(code(listed), 'ok');
  const noRead = await h.authority(a.tenant, ['entries:read']);
  assert.equal(code(await h.request<KeysetReply>('keyset', { authority: noRead, op: 'list', deploymentId: a.deploymentId })), 'INSUFFICIENT_SCOPE');
  const writer = await h.authority(a.tenant, ['trust-domains:write']);
  assert.equal(code(await prepare(writer, a.deploymentId)), 'ok');
  assert.ok((await logLength()) > before, 'a permitted prepare appends');
});

test("A's authority reaches none of B's deployments or bundles (404, nothing appended)", async () => {
  const before = await logLength();
  const reply = await prepare(aAdmin, b.deploymentId);
  assert.equal(code(reply), 'DEPLOYMENT_NOT_SERVED');
  assert.equal(reply.ok ? 0 : reply.error.status, 404);
  assert.equal(code(await h.request<BundleReply>('bundle', { authority: aAdmin, trustDomainId: b.trustDomainId })), 'TRUST_DOMAIN_NOT_SERVED');
  assert.equal(await logLength(), before);
  assert.equal(code(await h.request<BundleReply>('bundle', { authority: aAdmin, trustDomainId: a.trustDomainId })), 'ok');
  assert.equal(code(await h.request<BundleReply>('bundle', { trustDomainId: a.trustDomainId })), 'AUTHORITY_REQUIRED');
});

test('nothing on the bus mints: mint-x509 and mint-jwt have no responder', async () => {
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  for (const [operation, body] of [
    ['mint-x509', { authority: aAdmin, trustDomainId: b.trustDomainId, spiffeId: 'spiffe://b.example/trustplane/server', publicKey, dnsNames: ['attacker.example'] }],
    ['mint-x509', { authority: aAdmin, trustDomainId: b.trustDomainId, spiffeId: 'spiffe://b.example/agent/edge/node-1', publicKey }],
    ['mint-jwt', { authority: aAdmin, trustDomainId: b.trustDomainId, spiffeId: 'spiffe://b.example/payments', audience: ['x'] }],
  ] as const) {
    await assert.rejects(h.request(operation, body), (error: unknown) => (error as { code?: unknown }).code === 503 || /no responders/i.test(String(error)), operation);
  }
});

test('a request whose reply subject is not a private inbox is ignored (no answer, nothing appended), logged and counted', async () => {
  const body = JSON.stringify({ authority: aAdmin, op: 'prepare', deploymentId: a.deploymentId });
  const subject = `${h.stream.subjectPrefix}.cmd.signer.keyset`;
  for (const [what, reply] of [
    ['the shared inbox', `_INBOX.${uuidv7()}`],
    ['a request subject', `${h.stream.subjectPrefix}.cmd.signer.bundle`],
    ['no reply subject at all', undefined],
  ] as const) {
    const before = await logLength();
    const counted = await refusedCount('keyset', 'REPLY_NOT_PRIVATE_INBOX');
    const answers: unknown[] = [];
    const listener = reply === undefined ? undefined : h.nc.subscribe(reply, { callback: (_error, message) => void answers.push(message.data) });
    h.nc.publish(subject, body, reply === undefined ? {} : { reply });
    await h.nc.flush();
    for (let attempt = 0; attempt < 100 && (await refusedCount('keyset', 'REPLY_NOT_PRIVATE_INBOX')) === counted; attempt++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await refusedCount('keyset', 'REPLY_NOT_PRIVATE_INBOX'), counted + 1, `${what}: counted`);
    await new Promise((r) => setTimeout(r, 200));
    listener?.unsubscribe();
    assert.deepEqual(answers, [], `${what}: not answered`);
    assert.equal(await logLength(), before, `${what}: nothing appended (the same request on a private inbox prepares a keyset)`);
  }
  // The same request, sent as the registry sends it (its private inbox), is served.
  assert.equal(code(await h.request<KeysetReply>('keyset', { authority: aAdmin, op: 'list', deploymentId: a.deploymentId })), 'ok');
});

test('stored events pushed onto a signer subject by a push consumer (NATS 2.9 does not check deliver subjects) are not read as requests', async () => {
  const jsm = await jetstreamManager(h.nc);
  const consumer = `push_onto_signer_${uuidv7().slice(-8)}`;
  const counted = await refusedCount('bundle', 'REPLY_NOT_PRIVATE_INBOX');
  const invalid = await refusedCount('bundle', 'REQUEST_INVALID');
  const before = await logLength();
  await jsm.consumers.add(h.stream.streamName, {
    durable_name: consumer,
    deliver_subject: `${h.stream.subjectPrefix}.cmd.signer.bundle`,
    // The signer's queue group: JetStream delivers to queue subscribers only with a matching group.
    deliver_group: 'signer',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: allEventsSubject(h.stream.subjectPrefix),
  });
  try {
    for (let attempt = 0; attempt < 200 && (await refusedCount('bundle', 'REPLY_NOT_PRIVATE_INBOX')) < counted + before; attempt++) await new Promise((r) => setTimeout(r, 25));
    assert.ok((await refusedCount('bundle', 'REPLY_NOT_PRIVATE_INBOX')) >= counted + before, 'every delivered event was ignored and counted');
    assert.equal(await refusedCount('bundle', 'REQUEST_INVALID'), invalid, 'none was parsed as a request');
    assert.equal(await logLength(), before, 'nothing appended');
    assert.match(JSON.stringify((await jsm.consumers.info(h.stream.streamName, consumer)).num_ack_pending), /^[1-9]/, 'nothing acked by the signer');
  } finally {
    await jsm.consumers.delete(h.stream.streamName, consumer);
  }
});

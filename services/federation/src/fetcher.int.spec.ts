// The fetcher against real TLS bundle endpoints and a real NATS log: an https_web peer (the
// operator's CA file), an https_spiffe peer authenticated by its bootstrap bundle, and two
// impostors (an SVID from another CA, the right CA but another SPIFFE ID). Changes are recorded
// as federatedbundle.updated events (public members only), unchanged polls record nothing,
// a peer that fails backs off without holding up the others, refresh fetches at once, and a
// deleted relationship is no longer polled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEvent, toEnvelope, uuidv7, type AggregateRef, type DomainEnvelope, type EventEnvelope, type FederationPeer } from '@trustplane/events';
import { EventLog } from '@trustplane/eventstore';
import { connectTestNats, connectTestNatsAs, deleteTestStream, eventually, testNatsCredentials, testNatsEnv, testStreamSettings, type TestStream } from '@trustplane/testkit';
import { loadFederationConfig } from './config.js';
import { privateMembersIn } from './documents.js';
import { startFederation, type FederationService } from './server.js';
import { bundleOf, testCa, testLeaf, type ServerIdentity, type TestCa } from './testing/pki.js';

const ORG = 't-fetch00001';
const OURS = 'td-fetch00001';
const ENDPOINT_ID = 'spiffe://peer.example/bundle-endpoint';

let admin: NatsConnection;
let stream: TestStream;
let log: EventLog;
let service: FederationService;
const work = mkdtempSync(join(tmpdir(), 'tp-fetch-'));
const caFile = join(work, 'web-ca.pem');

/** A bundle endpoint whose answer the test controls. */
class Endpoint {
  body: unknown = {};
  status = 200;
  requests = 0;
  server!: Server;
  url = '';
  static async start(identity: ServerIdentity): Promise<Endpoint> {
    const endpoint = new Endpoint();
    endpoint.server = createServer({ cert: identity.certPem, key: identity.keyPem }, (req, res) => {
      endpoint.requests++;
      res.writeHead(endpoint.status, { 'content-type': 'application/json' }).end(JSON.stringify(endpoint.body));
    });
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    const address = endpoint.server.address();
    endpoint.url = `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/bundle`;
    return endpoint;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let webCa: TestCa;
let peerCa: TestCa;
let rogueCa: TestCa;
let web: Endpoint;
let spiffe: Endpoint;
let impostor: Endpoint;
let wrongId: Endpoint;

async function put(ref: AggregateRef, type: string, data: unknown): Promise<void> {
  const meta = { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 'test' }, causationId: 'x', correlationId: 'x' } as const;
  const envelope = toEnvelope({ type, schemaVersion: 1, data } as never, meta, uuidv7()) as EventEnvelope;
  await jetstream(admin).publish(log.subjectOf(ref), encodeEvent(envelope));
}

const federationRef = (id: string): AggregateRef => ({ tenant: ORG, aggregateType: 'federation', aggregateId: id });
const created = (id: string, peer: FederationPeer) => put(federationRef(id), 'federation.created', { trustDomainId: OURS, trustDomain: 'ours.example', peer });
const recorded = async (id: string): Promise<DomainEnvelope[]> =>
  (await log.readAggregate({ tenant: ORG, aggregateType: 'federatedbundle', aggregateId: id })).map((s) => s.event);
const statusOf = (id: string) => service.fetcher?.statuses().find((s) => s.federationId === id);

before(async () => {
  admin = await connectTestNats();
  stream = testStreamSettings('federation_fetcher');
  log = await EventLog.open(admin, stream);
  webCa = await testCa('Test Web CA');
  peerCa = await testCa('peer.example CA', 'peer.example');
  rogueCa = await testCa('rogue CA', 'peer.example');
  web = await Endpoint.start(await testLeaf(webCa, { ip: '127.0.0.1' }));
  spiffe = await Endpoint.start(await testLeaf(peerCa, { spiffeId: ENDPOINT_ID }));
  impostor = await Endpoint.start(await testLeaf(rogueCa, { spiffeId: ENDPOINT_ID }));
  wrongId = await Endpoint.start(await testLeaf(peerCa, { spiffeId: 'spiffe://peer.example/someone-else' }));
  // The web peer's bundle carries a private member that must never be recorded.
  web.body = { ...bundleOf([peerCa], 1, 1), keys: [{ ...(bundleOf([peerCa], 1, 1)['keys'] as object[])[0], d: 'SECRET' }, { kty: 'EC', use: 'jwt-svid', kid: 'k1', crv: 'P-256', x: 'AA', y: 'AA', d: 'SECRET' }] };
  spiffe.body = bundleOf([peerCa], 7, 1);
  impostor.body = bundleOf([rogueCa], 99, 1);
  wrongId.body = bundleOf([peerCa], 99, 1);
  writeFileSync(caFile, webCa.pem);
  const bootstrap = JSON.stringify(bundleOf([peerCa], 1, 60));
  await created('fr-web0000001', { kind: 'external', trustDomain: 'web.example', bundleEndpointUrl: web.url, profile: 'https_web' });
  await created('fr-spf0000001', { kind: 'external', trustDomain: 'peer.example', bundleEndpointUrl: spiffe.url, profile: 'https_spiffe', endpointSpiffeId: ENDPOINT_ID, bootstrapBundle: bootstrap });
  await created('fr-imp0000001', { kind: 'external', trustDomain: 'peer2.example', bundleEndpointUrl: impostor.url, profile: 'https_spiffe', endpointSpiffeId: ENDPOINT_ID, bootstrapBundle: bootstrap });
  await created('fr-wid0000001', { kind: 'external', trustDomain: 'peer3.example', bundleEndpointUrl: wrongId.url, profile: 'https_spiffe', endpointSpiffeId: ENDPOINT_ID, bootstrapBundle: bootstrap });
  service = await startService();
});

function startService(): Promise<FederationService> {
  const writer = testNatsCredentials('federationWriter');
  return startFederation(
    loadFederationConfig({
      ...testNatsEnv('federation'),
      TP_EVENT_STREAM: stream.streamName,
      TP_SUBJECT_PREFIX: stream.subjectPrefix,
      TP_FEDERATION_PORT: '0',
      TP_FEDERATION_WRITER_NATS_USER: writer.user,
      TP_FEDERATION_WRITER_NATS_PASSWORD: writer.password,
      TP_FEDERATION_WEB_CA_FILE: caFile,
      TP_FEDERATION_MIN_POLL_MS: '200',
      TP_FEDERATION_MAX_POLL_MS: '1500',
      TP_LOG_LEVEL: 'silent',
    }),
  );
}

after(async () => {
  await service?.close();
  for (const endpoint of [web, spiffe, impostor, wrongId]) await endpoint?.close();
  if (stream !== undefined) await deleteTestStream(admin, stream.streamName);
  await admin?.close();
});

describe('fetching peer bundles', () => {
  test('https_web through the operator CA file: recorded once, public members only; unchanged polls record nothing; a change is one more event', async () => {
    await eventually(async () => (await recorded('fr-web0000001')).length === 1, 20_000, 'the web peer bundle recorded');
    const [first] = await recorded('fr-web0000001');
    assert.equal(first?.type, 'federatedbundle.updated');
    assert.deepEqual(privateMembersIn(first?.data), [], 'no private member recorded');
    const polled = web.requests;
    await eventually(() => web.requests >= polled + 2, 20_000, 'polled again at the refresh hint');
    assert.equal((await recorded('fr-web0000001')).length, 1, 'nothing new, nothing recorded');
    web.body = bundleOf([peerCa, webCa], 2, 1);
    await eventually(async () => (await recorded('fr-web0000001')).length === 2, 20_000, 'the changed bundle recorded');
    const status = statusOf('fr-web0000001');
    assert.equal(status?.sequence, 2);
    assert.equal(status?.lastError, null);
    assert.ok(status?.lastSuccessAt !== null && status?.bundleFetchedAt !== null);
  });

  test('https_spiffe: the endpoint SVID is checked against the bootstrap bundle and the endpoint SPIFFE ID', async () => {
    await eventually(async () => (await recorded('fr-spf0000001')).length === 1, 20_000, 'the spiffe peer bundle recorded');
    assert.equal((await recorded('fr-spf0000001'))[0]?.data && ((await recorded('fr-spf0000001'))[0]?.data as { sequence: number }).sequence, 7);
    await eventually(() => (statusOf('fr-imp0000001')?.consecutiveFailures ?? 0) >= 2 && (statusOf('fr-wid0000001')?.consecutiveFailures ?? 0) >= 2, 20_000, 'impostors refused twice');
    assert.deepEqual(await recorded('fr-imp0000001'), [], 'an SVID from another CA is refused');
    assert.deepEqual(await recorded('fr-wid0000001'), [], 'another SPIFFE ID is refused');
    assert.match(statusOf('fr-wid0000001')?.lastError ?? '', /ENDPOINT_ID_MISMATCH/);
    assert.match(statusOf('fr-imp0000001')?.lastError ?? '', /FETCH_FAILED/);
  });

  test('a failing peer backs off and recovers; refresh fetches at once; others are unaffected', async () => {
    spiffe.status = 503;
    await eventually(() => (statusOf('fr-spf0000001')?.consecutiveFailures ?? 0) >= 3, 20_000, 'failures counted');
    assert.match(statusOf('fr-spf0000001')?.lastError ?? '', /HTTP_STATUS/);
    assert.equal(statusOf('fr-web0000001')?.consecutiveFailures, 0, 'the other peer is unaffected');
    spiffe.status = 200;
    spiffe.body = bundleOf([peerCa], 8, 1);
    const before = spiffe.requests;
    await put(federationRef('fr-spf0000001'), 'federation.refresh_requested', { requestedAt: new Date().toISOString() });
    await eventually(async () => (await recorded('fr-spf0000001')).length === 2, 20_000, 'recovered and recorded');
    assert.ok(spiffe.requests > before);
    assert.equal(statusOf('fr-spf0000001')?.consecutiveFailures, 0);
  });

  test('a deleted relationship is no longer polled', async () => {
    await put(federationRef('fr-web0000001'), 'federation.deleted', { trustDomainId: OURS, peerTrustDomain: 'web.example' });
    await eventually(() => statusOf('fr-web0000001') === undefined, 10_000, 'relationship dropped');
    const count = web.requests;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(web.requests, count);
  });

  test('restarted (killed between polls or after an append), it replays what it recorded and appends no duplicate', async () => {
    const before = (await recorded('fr-spf0000001')).length;
    const requests = spiffe.requests;
    await service.close();
    service = await startService();
    await eventually(() => spiffe.requests >= requests + 2, 20_000, 'polled again after the restart');
    assert.equal((await recorded('fr-spf0000001')).length, before, 'the same bundle is not recorded twice');
    assert.equal(statusOf('fr-spf0000001')?.sequence, 8, 'the recorded sequence was replayed from the log');
  });

  test('the writer records peer bundles only: it cannot append to another aggregate type', async () => {
    const nc = await connectTestNatsAs('federationWriter');
    try {
      const ref = { tenant: ORG, aggregateType: 'bundle', aggregateId: OURS };
      const envelope = toEnvelope({ type: 'bundle.updated', schemaVersion: 1, data: {} } as never, { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 'x' }, causationId: 'x', correlationId: 'x' }, uuidv7());
      await assert.rejects(jetstream(nc).publish(log.subjectOf(ref), encodeEvent(envelope as EventEnvelope), { timeout: 3_000 }));
    } finally {
      await nc.close();
    }
  });
});

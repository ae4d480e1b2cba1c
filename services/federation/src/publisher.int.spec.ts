// The publisher against a real NATS JetStream log, as its own read-only bus user: bundles
// appended to the log appear on the public routes (and newer ones replace them without a
// restart), a restarted publisher rebuilds the same answers from the log, forged events are
// refused, private members never leave, and hostile requests get typed errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEvent, toEnvelope, uuidv7, type AggregateRef, type EventEnvelope, type SpiffeBundleDocument } from '@trustplane/events';
import { EventLog } from '@trustplane/eventstore';
import { connectTestNats, connectTestNatsAs, deleteTestStream, eventually, testNatsEnv, testStreamSettings, type TestStream } from '@trustplane/testkit';
import { loadFederationConfig } from './config.js';
import { privateMembersIn } from './documents.js';
import { startFederation, type FederationService } from './server.js';
import { bundleDocument, testKeyset, type TestKeyset } from './testing/keys.js';

const ORG = 't-fed0000001';
const OTHER_ORG = 't-fed0000002';
const TD_ID = 'td-fed0000001';
const TD = 'pub.example';

let admin: NatsConnection;
let stream: TestStream;
let log: EventLog;
let publisher: FederationService;
let base: string;
let keysetA: TestKeyset;
let keysetB: TestKeyset;

/** Appends an event on `subject` (default: where it belongs), as a writer or a forger would. */
async function put(ref: AggregateRef, type: string, data: unknown, subject = log.subjectOf(ref)): Promise<number> {
  const meta = { ...ref, occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 'test' }, causationId: 'x', correlationId: 'x' } as const;
  const envelope = toEnvelope({ type, schemaVersion: 1, data } as never, meta, uuidv7()) as EventEnvelope;
  return (await jetstream(admin).publish(subject, encodeEvent(envelope))).seq;
}

const bundleRef = (tenant = ORG, id = TD_ID): AggregateRef => ({ tenant, aggregateType: 'bundle', aggregateId: id });
const bundleData = (document: SpiffeBundleDocument, id = TD_ID, name = TD) => ({ trustDomainId: id, trustDomain: name, sequence: document.spiffe_sequence, document, keysets: [] });

/** A raw HTTP/1.1 request (fetch would decompress and follow redirects for us). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    // path as given: a URL string would be normalized (`..` resolved) before it is sent.
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startPublisher(): Promise<FederationService> {
  const config = loadFederationConfig({
    ...testNatsEnv('federation'),
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_FEDERATION_PORT: '0',
    TP_FEDERATION_PUBLIC_BASE_URL: 'https://trust.example.com',
    TP_LOG_LEVEL: 'silent',
  });
  const started = await startFederation(config);
  base = `http://127.0.0.1:${started.port}`;
  await eventually(async () => (await get('/readyz')).status === 200, 20_000, 'publisher ready');
  return started;
}

before(async () => {
  admin = await connectTestNats();
  stream = testStreamSettings('federation_publisher');
  log = await EventLog.open(admin, stream);
  keysetA = await testKeyset(TD, 'kid-a');
  keysetB = await testKeyset(TD, 'kid-b');
  await put({ tenant: ORG, aggregateType: 'trustdomain', aggregateId: TD_ID }, 'trustdomain.created', { name: TD, description: '', kind: 'managed', status: 'initializing' });
  await put(bundleRef(), 'bundle.updated', bundleData(bundleDocument([keysetA], 1, 120)));
  publisher = await startPublisher();
});

after(async () => {
  await publisher?.close();
  if (stream !== undefined) await deleteTestStream(admin, stream.streamName);
  await admin?.close();
});

describe('public routes', () => {
  test('the bundle, JWKS and discovery of a trust domain in the log; 304 on a matching If-None-Match; Cache-Control from the hint', async () => {
    const bundle = await get(`/${ORG}/${TD_ID}/bundle`);
    assert.equal(bundle.status, 200);
    assert.equal(bundle.headers['content-type'], 'application/json');
    assert.equal(bundle.headers['cache-control'], 'public, max-age=120');
    const document = JSON.parse(bundle.body.toString()) as { keys: Record<string, unknown>[]; spiffe_sequence: number; spiffe_refresh_hint: number };
    assert.equal(document.spiffe_sequence, 1);
    assert.equal(document.spiffe_refresh_hint, 120);
    assert.deepEqual(document.keys.map((k) => [k['use'], k['kid'] ?? null, (k['x5c'] as unknown[] | undefined)?.length ?? 0]), [
      ['x509-svid', null, 1],
      ['jwt-svid', 'kid-a', 0],
    ]);
    assert.equal(document.keys[0]?.['x5c'] && (document.keys[0]['x5c'] as string[])[0], keysetA.certificateDer.toString('base64'));

    const etag = String(bundle.headers['etag']);
    const again = await get(`/${ORG}/${TD_ID}/bundle`, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers['etag'], etag);

    const jwks = await get(`/${ORG}/${TD_ID}/jwks`);
    assert.equal(jwks.status, 200);
    assert.deepEqual((JSON.parse(jwks.body.toString()) as { keys: { kid: string; use: string }[] }).keys.map((k) => [k.kid, k.use]), [['kid-a', 'sig']]);

    const discovery = JSON.parse((await get(`/${ORG}/${TD_ID}/.well-known/openid-configuration`)).body.toString()) as Record<string, unknown>;
    assert.equal(discovery['issuer'], `https://trust.example.com/${ORG}/${TD_ID}`);
    assert.equal(discovery['jwks_uri'], `https://trust.example.com/${ORG}/${TD_ID}/jwks`);
  });

  test('compression: br and gzip decode to the same document; HEAD has headers only', async () => {
    const plain = await get(`/${ORG}/${TD_ID}/bundle`);
    const gz = await get(`/${ORG}/${TD_ID}/bundle`, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers['vary'], 'Accept-Encoding');
    assert.deepEqual(gunzipSync(gz.body), plain.body);
    const br = await get(`/${ORG}/${TD_ID}/bundle`, { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.deepEqual(brotliDecompressSync(br.body), plain.body);
    const head = await get(`/${ORG}/${TD_ID}/bundle`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), plain.body.length);
  });

  test('a name redirects to the id; unknown ids, names and organizations are 404', async () => {
    const byName = await get(`/${ORG}/${TD}/jwks`);
    assert.equal(byName.status, 302);
    assert.equal(byName.headers['location'], `/${ORG}/${TD_ID}/jwks`);
    assert.equal((await get(`/${ORG}/${TD}/.well-known/openid-configuration`)).headers['location'], `/${ORG}/${TD_ID}/.well-known/openid-configuration`);
    for (const path of [`/${OTHER_ORG}/${TD_ID}/bundle`, `/${OTHER_ORG}/${TD}/bundle`, `/${ORG}/td-0000000000/bundle`, `/${ORG}/other.example/bundle`]) {
      const answer = await get(path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.headers['content-type'], 'application/problem+json');
    }
  });

  test('hostile requests: other methods 405, traversal and junk 404, an endless target 414; nothing changes', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const answer = await get(`/${ORG}/${TD_ID}/bundle`, {}, method);
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers['allow'], 'GET, HEAD');
    }
    for (const path of [
      `/${ORG}/${TD_ID}/../${TD_ID}/bundle`,
      `/${ORG}/${TD_ID}/bundle/extra`,
      `//${ORG}/${TD_ID}/bundle`,
      `/${ORG}/${TD_ID}/.well-known/../bundle`,
      `/${ORG}/${TD_ID.toUpperCase()}/bundle`,
      `/${ORG}/%2e%2e/bundle`,
      '/',
      '/%00',
      `/${ORG}/${TD_ID}/keys`,
    ]) {
      const answer = await get(path);
      assert.equal(answer.status, 404, path);
      assert.equal((JSON.parse(answer.body.toString()) as { status: number }).status, 404);
    }
    assert.equal((await get(`/${ORG}/${'a'.repeat(600)}/bundle`)).status, 414);
    const query = await get(`/${ORG}/${TD_ID}/bundle?x=1`);
    assert.equal(query.status, 200, 'a query string is ignored');
  });
});

describe('following the log', () => {
  test('a newer bundle replaces the served one without a restart; the ETag changes; an older sequence never wins', async () => {
    const before = await get(`/${ORG}/${TD_ID}/bundle`);
    await put(bundleRef(), 'bundle.updated', bundleData(bundleDocument([keysetA, keysetB], 2, 120)));
    await eventually(async () => (JSON.parse((await get(`/${ORG}/${TD_ID}/bundle`)).body.toString()) as { spiffe_sequence: number }).spiffe_sequence === 2, 10_000, 'sequence 2 served');
    const after = await get(`/${ORG}/${TD_ID}/bundle`, { 'if-none-match': String(before.headers['etag']) });
    assert.equal(after.status, 200, 'the old tag no longer matches');
    assert.notEqual(after.headers['etag'], before.headers['etag']);
    assert.equal((JSON.parse(after.body.toString()) as { keys: unknown[] }).keys.length, 4);
    const jwks = JSON.parse((await get(`/${ORG}/${TD_ID}/jwks`)).body.toString()) as { keys: { kid: string }[] };
    assert.deepEqual(jwks.keys.map((k) => k.kid), ['kid-a', 'kid-b'], 'the new JWT authority is published');
  });

  test('forged events are refused: a bundle of one organization stored under another, and one whose data names another trust domain', async () => {
    const forged = bundleData(bundleDocument([keysetB], 50, 120));
    // Envelope says OTHER_ORG, subject says ORG (and the reverse).
    await put(bundleRef(OTHER_ORG), 'bundle.updated', forged, log.subjectOf(bundleRef(ORG)));
    // Data names TD_ID but it is stored on another trust domain's subject.
    await put(bundleRef(ORG, 'td-fed0000009'), 'bundle.updated', forged);
    // A well-formed event after them proves the follower went past both.
    await put(bundleRef(ORG, 'td-fed0000003'), 'bundle.updated', bundleData(bundleDocument([keysetB], 1, 60), 'td-fed0000003', 'third.example'));
    await eventually(async () => (await get(`/${ORG}/td-fed0000003/bundle`)).status === 200, 10_000, 'the later event applied');
    const served = JSON.parse((await get(`/${ORG}/${TD_ID}/bundle`)).body.toString()) as { spiffe_sequence: number };
    assert.equal(served.spiffe_sequence, 2, 'the forged sequence 50 is not served');
    assert.equal((await get(`/${OTHER_ORG}/${TD_ID}/bundle`)).status, 404);
    assert.equal((await get(`/${ORG}/td-fed0000009/bundle`)).status, 404);
  });

  test('a private member smuggled into a bundle event never reaches any response', async () => {
    const document = bundleDocument([keysetA], 3, 120);
    const smuggled = { ...document, keys: document.keys.map((k) => ({ ...k, d: 'AAAA', p: 'AAAA', q: 'AAAA', dp: 'AAAA', dq: 'AAAA', qi: 'AAAA', k: 'AAAA' })) };
    await put(bundleRef(), 'bundle.updated', bundleData(smuggled as SpiffeBundleDocument));
    await eventually(async () => (JSON.parse((await get(`/${ORG}/${TD_ID}/bundle`)).body.toString()) as { spiffe_sequence: number }).spiffe_sequence === 3, 10_000, 'sequence 3 served');
    for (const id of [TD_ID, 'td-fed0000003']) {
      for (const doc of ['bundle', 'jwks', '.well-known/openid-configuration']) {
        for (const encoding of ['identity', 'gzip', 'br']) {
          const answer = await get(`/${ORG}/${id}/${doc}`, { 'accept-encoding': encoding });
          const body = encoding === 'gzip' ? gunzipSync(answer.body) : encoding === 'br' ? brotliDecompressSync(answer.body) : answer.body;
          assert.deepEqual(privateMembersIn(JSON.parse(body.toString())), [], `${id}/${doc} (${encoding})`);
        }
      }
    }
  });

  test('deleting the trust domain takes its documents off the routes', async () => {
    await put({ tenant: ORG, aggregateType: 'trustdomain', aggregateId: 'td-fed0000003' }, 'trustdomain.deleted', { name: 'third.example' });
    await eventually(async () => (await get(`/${ORG}/td-fed0000003/bundle`)).status === 404, 10_000, 'deleted trust domain gone');
  });

  test('a restarted publisher rebuilds the same answers from the log alone (same ETag)', async () => {
    const before = await get(`/${ORG}/${TD_ID}/bundle`);
    await publisher.close();
    publisher = await startPublisher();
    const after = await get(`/${ORG}/${TD_ID}/bundle`);
    assert.equal(after.status, 200);
    assert.equal(after.headers['etag'], before.headers['etag']);
    assert.deepEqual(after.body, before.body);
    assert.equal((await get(`/${ORG}/td-fed0000003/bundle`)).status, 404);
  });

  test('its bus user reads the log but cannot write to it', async () => {
    const nc = await connectTestNatsAs('federation');
    try {
      const meta = { ...bundleRef(), occurredAt: new Date().toISOString(), actor: { kind: 'system', id: 'x' }, causationId: 'x', correlationId: 'x' } as const;
      const envelope = toEnvelope({ type: 'bundle.updated', schemaVersion: 1, data: bundleData(bundleDocument([keysetB], 99)) } as never, meta, uuidv7());
      await assert.rejects(jetstream(nc).publish(log.subjectOf(bundleRef()), encodeEvent(envelope as EventEnvelope), { timeout: 3_000 }));
    } finally {
      await nc.close();
    }
  });
});

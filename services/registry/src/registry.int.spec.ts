import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventLog } from '@trustplane/eventstore';
import { initTracing } from '@trustplane/platform';
import {
  connectTestNats,
  createTestDatabase,
  deleteTestStream,
  testNatsEnv,
  testStreamSettings,
  type TestDatabase,
  type TestStream,
} from '@trustplane/testkit';
import { loadRegistryConfig } from './config.js';
import { startRegistry, type RegistryServer } from './server.js';

let nc: NatsConnection;
let db: TestDatabase;
let stream: TestStream;
let server: RegistryServer;
let log: EventLog;
const tracing = initTracing('registry-test', 'memory');

before(async () => {
  nc = await connectTestNats();
  db = await createTestDatabase('registry');
  stream = testStreamSettings('registry');
  const config = loadRegistryConfig({
    ...testNatsEnv(),
    DATABASE_URL: db.url,
    TP_EVENT_STREAM: stream.streamName,
    TP_SUBJECT_PREFIX: stream.subjectPrefix,
    TP_REGISTRY_PORT: '0',
    TP_LOG_LEVEL: 'silent',
    TP_TRACING: 'memory',
    TP_REGISTRY_BODY_LIMIT_BYTES: '4096',
  });
  server = await startRegistry(config);
  log = await EventLog.open(nc, stream);
});

after(async () => {
  await server.close();
  await deleteTestStream(nc, stream.streamName);
  await nc.close();
  await db.drop();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', json: text ? JSON.parse(text) : undefined };
}

test('create, read and rename an organization through the API', async () => {
  const created = await call('POST', '/api/v1/organizations', { name: 'Acme' });
  assert.equal(created.status, 201);
  assert.match(created.json.id, /^t-[0-9a-z]{10}$/);
  assert.equal(created.json.name, 'Acme');
  const read = await call('GET', `/api/v1/organizations/${created.json.id}`);
  assert.deepEqual(read.json, created.json);
  const renamed = await call('PATCH', `/api/v1/organizations/${created.json.id}`, { name: 'Acme Corp' });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.json.name, 'Acme Corp');
  assert.ok(renamed.json.version > created.json.version);
});

test('the request traceparent reaches the event envelope and the projection span', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const created = await call('POST', '/api/v1/organizations', { name: 'Traced' }, {
    traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  assert.equal(created.status, 201);
  const [stored] = await log.readAggregate({ tenant: created.json.id, aggregateType: 'organization', aggregateId: created.json.id });
  assert.ok(stored);
  assert.match(stored.event.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  const spans = tracing.memory?.getFinishedSpans() ?? [];
  const server = spans.find((s) => s.spanContext().traceId === traceId && s.name.startsWith('POST'));
  const consumer = spans.find((s) => s.spanContext().traceId === traceId && s.name.startsWith('projection registry.organizations'));
  assert.ok(server, 'server span recorded');
  assert.ok(consumer, 'projection span recorded in the same trace');
  assert.equal(consumer.parentSpanContext?.spanId, stored.event.traceparent?.split('-')[2]);
});

test('bad input gets a problem+json 4xx and appends nothing', async () => {
  const before = await log.lastSequence();
  const cases: [unknown, number, string][] = [
    [{}, 400, 'VALIDATION_FAILED'],
    [{ name: '' }, 400, 'VALIDATION_FAILED'],
    [{ name: 42 }, 400, 'VALIDATION_FAILED'],
    [{ name: 'ok', extra: true }, 400, 'VALIDATION_FAILED'],
    [{ name: ' padded' }, 400, 'ORGANIZATION_NAME_INVALID'],
    ['{"name":', 400, 'BODY_NOT_JSON'],
    [{ name: 'x'.repeat(5000) }, 413, 'BODY_TOO_LARGE'],
  ];
  for (const [body, status, code] of cases) {
    const response = await call('POST', '/api/v1/organizations', body);
    assert.equal(response.status, status, JSON.stringify(body).slice(0, 60));
    assert.equal(response.json.code, code);
    assert.match(response.type, /application\/problem\+json/);
  }
  const unknown = await call('GET', '/api/v1/organizations/t-zzzzzzzzzz');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'ORGANIZATION_NOT_FOUND');
  assert.equal(await log.lastSequence(), before);
});

test('health, readiness and metrics', async () => {
  assert.deepEqual((await call('GET', '/healthz')).json, { status: 'ok' });
  const ready = await call('GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.json.checks, { nats: 'ok', postgres: 'ok' });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /tp_projection_events_applied_total\{[^}]*projection="registry.organizations"/);
  assert.match(metrics, /tp_http_requests_total/);
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initTracing, routesOf } from '@trustplane/platform';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';
import { AUTH_ROUTES } from './auth-proxy.js';

const isForwarded = (url: string): boolean => (AUTH_ROUTES as readonly string[]).includes(url);

let h: RegistryHarness;
let org: { id: string; token: string };
const tracing = initTracing('registry-test', 'memory');

before(async () => {
  h = await startRegistryHarness('registry', { TP_TRACING: 'memory', TP_REGISTRY_BODY_LIMIT_BYTES: '4096' });
});
after(async () => h.close());

test('a fresh install answers 401 on every non-public route until a token exists', async () => {
  const routes = routesOf(h.server.app).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
  const publicPaths = ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json'];
  // The auth service's routes are only forwarded (auth-proxy.int.spec.ts; the auth service authenticates them).
  const guarded = routes.filter((r) => !publicPaths.includes(r.url) && !isForwarded(r.url));
  assert.ok(guarded.length >= 15, `guarded routes: ${guarded.length}`);
  for (const route of guarded) {
    const path = route.url.replace(/:[a-z]+/gi, 'x');
    const response = await call(h.url, route.method, path, route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} });
    assert.equal(response.status, 401, `${route.method} ${route.url}`);
    assert.equal(response.json.code, 'UNAUTHENTICATED');
  }
  for (const path of publicPaths) assert.equal((await call(h.url, 'GET', path)).status, 200, path);
  const bogus = await call(h.url, 'GET', '/api/v1/trust-domains', { token: 'tp_tok-0000000000_' + 'A'.repeat(43) });
  assert.equal(bogus.status, 401);
});

test('host bootstrap: organization and token through the event log; the token works', async () => {
  org = await h.organization('Acme');
  const me = await call(h.url, 'GET', '/api/v1/organization', { token: org.token });
  assert.equal(me.status, 200);
  assert.equal(me.json.id, org.id);
  assert.equal(me.json.name, 'Acme');
  const events = await h.log.readAggregate({ tenant: org.id, aggregateType: 'organization', aggregateId: org.id });
  assert.equal(events[0]?.event.actor.kind, 'bootstrap');
});

test('scopes are enforced', async () => {
  const reader = await h.organization('Readers', ['trust-domains:read']);
  const refused = await call(h.url, 'POST', '/api/v1/trust-domains', { token: reader.token, body: { name: 'x.org' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'INSUFFICIENT_SCOPE');
  assert.equal((await call(h.url, 'GET', '/api/v1/trust-domains', { token: reader.token })).status, 200);
});

test('the request traceparent reaches the event envelope and the projection span', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const created = await call(h.url, 'POST', '/api/v1/trust-domains', {
    token: org.token,
    body: { name: 'traced.example' },
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  assert.equal(created.status, 201);
  const [stored] = await h.log.readAggregate({ tenant: org.id, aggregateType: 'trustdomain', aggregateId: created.json.id });
  assert.ok(stored);
  assert.match(stored.event.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  const spans = tracing.memory?.getFinishedSpans() ?? [];
  assert.ok(spans.some((s) => s.spanContext().traceId === traceId && s.name.startsWith('POST')), 'server span');
  const consumer = spans.find((s) => s.spanContext().traceId === traceId && s.name === 'projection registry.model apply trustdomain.created');
  assert.ok(consumer, 'projection span in the same trace');
  assert.equal(consumer.parentSpanContext?.spanId, stored.event.traceparent?.split('-')[2]);
});

test('bad input gets the right 4xx as problem+json and appends nothing', async () => {
  const before = await h.log.lastSequence();
  const cases: [string, string, unknown, number, string][] = [
    ['POST', '/api/v1/trust-domains', {}, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains', { name: 'Bad_Name.ORG' }, 400, 'TRUST_DOMAIN_NAME_INVALID'],
    ['POST', '/api/v1/trust-domains', { name: 'spiffe://example.org' }, 400, 'TRUST_DOMAIN_NAME_INVALID'],
    ['POST', '/api/v1/trust-domains', { name: 42 }, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains', { name: 'ok.org', colour: 'red' }, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains', { name: 'ok.org', kind: 'hosted' }, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains', '{"name":', 400, 'BODY_NOT_JSON'],
    ['POST', '/api/v1/trust-domains', { name: 'x'.repeat(5000) }, 413, 'BODY_TOO_LARGE'],
    ['POST', '/api/v1/trust-domains', { name: 'traced.example' }, 409, 'TRUST_DOMAIN_NAME_TAKEN'],
    ['POST', '/api/v1/trust-domains/traced.example/entries', { spiffeId: 'spiffe://other.org/x', parentId: 'spiffe://traced.example/agent/a', selectors: ['unix:uid:1'] }, 400, 'ENTRY_INVALID'],
    ['POST', '/api/v1/trust-domains/traced.example/entries', { spiffeId: 'spiffe://traced.example/x', parentId: 'spiffe://traced.example/agent/a', selectors: ['nocolon'] }, 400, 'ENTRY_INVALID'],
    ['POST', '/api/v1/trust-domains/traced.example/entries', { spiffeId: 'spiffe://traced.example/x', parentId: 'spiffe://traced.example/agent/a', selectors: 'unix:uid:1' }, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains/traced.example/clusters', { name: 'prod', platform: 'mainframe' }, 400, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/trust-domains/traced.example/deployments', { name: 'eu-1' }, 409, 'MANAGED_TRUST_DOMAIN_DEPLOYMENT'],
    ['GET', '/api/v1/trust-domains?limit=0', undefined, 400, 'VALIDATION_FAILED'],
    ['GET', '/api/v1/trust-domains/td-zzzzzzzzzz', undefined, 404, 'TRUST_DOMAIN_NOT_FOUND'],
    ['DELETE', '/api/v1/entries/e-zzzzzzzzzz', undefined, 404, 'ENTRY_NOT_FOUND'],
    ['POST', '/api/v1/tokens', { name: 'x', scopes: ['root'] }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [method, path, body, status, code] of cases) {
    const response = await call(h.url, method, path, { token: org.token, ...(body === undefined ? {} : { body }) });
    assert.equal(response.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}: ${JSON.stringify(response.json)}`);
    assert.equal(response.json.code, code, `${method} ${path}`);
    assert.match(response.type, /application\/problem\+json/);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
});

test('Idempotency-Key: a repeated POST returns the first response and appends nothing', async () => {
  const headers = { 'idempotency-key': 'create-idem-1' };
  const first = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'idem.example' }, headers });
  assert.equal(first.status, 201);
  const afterFirst = await h.log.lastSequence();
  const again = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'idem.example' }, headers });
  assert.equal(again.status, 201);
  assert.deepEqual(again.json, first.json);
  assert.equal(await h.log.lastSequence(), afterFirst);
  const reused = await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name: 'other.example' }, headers });
  assert.equal(reused.status, 422);
  assert.equal(reused.json.code, 'IDEMPOTENCY_KEY_REUSED');
});

test('lists are keyset-paginated', async () => {
  for (const name of ['p1.example', 'p2.example', 'p3.example']) {
    assert.equal((await call(h.url, 'POST', '/api/v1/trust-domains', { token: org.token, body: { name } })).status, 201);
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; json: { items: { id: string; name: string }[]; nextCursor: string | null } } = await call(
      h.url,
      'GET',
      `/api/v1/trust-domains?limit=2${cursor ? `&after=${cursor}` : ''}`,
      { token: org.token },
    );
    assert.equal(page.status, 200);
    assert.ok(page.json.items.length <= 2);
    seen.push(...page.json.items.map((i) => i.name));
    cursor = page.json.nextCursor;
  } while (cursor !== null);
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.length >= 5);
  assert.deepEqual([...seen].sort(), seen, 'by name');
});

test('health, readiness, metrics and the OpenAPI document', async () => {
  assert.deepEqual((await call(h.url, 'GET', '/healthz')).json, { status: 'ok' });
  const ready = await call(h.url, 'GET', '/readyz');
  assert.deepEqual(ready.json.checks, { nats: 'ok', postgres: 'ok', 'event-log': 'ok', projections: 'ok' });
  assert.equal(ready.json.projections['registry.model'].behindSequences, 0);
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  assert.match(metrics, /tp_projection_events_applied_total\{[^}]*projection="registry.model"/);
  const served = (await call(h.url, 'GET', '/api/v1/openapi.json')).json;
  const checkedIn = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8'));
  assert.deepEqual(served, checkedIn, 'services/registry/openapi.json is stale: run node services/registry/dist/openapi-write.js');
  for (const route of routesOf(h.server.app)) {
    if (route.method === 'HEAD' || route.method === 'OPTIONS' || isForwarded(route.url)) continue;
    const path = route.url.replace(/:([a-z]+)/gi, '{$1}');
    assert.ok(served.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.url} is not in the OpenAPI document`);
  }
});

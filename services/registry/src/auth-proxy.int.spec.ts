// The registry's forwarding of the auth service's routes when the auth service is not there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '@trustplane/testkit';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let unconfigured: RegistryHarness;
let unreachable: RegistryHarness;

before(async () => {
  unconfigured = await startRegistryHarness('auth_proxy_unset');
  unreachable = await startRegistryHarness('auth_proxy_down', { TP_REGISTRY_AUTH_URL: `http://127.0.0.1:${await freePort()}` });
});

after(async () => {
  await unconfigured.close();
  await unreachable.close();
});

const routes: [string, string, unknown?][] = [
  ['POST', '/api/v1/trust-domains/td-0000000000/deployments/tdd-0000000000/keys'],
  ['GET', '/api/v1/trust-domains/a.example/deployments/east/keys'],
  ['POST', '/api/v1/trust-domains/a.example/deployments/east/keys/tdk-0000000000/disable'],
  ['DELETE', '/api/v1/trust-domains/a.example/deployments/east/keys/tdk-0000000000'],
  ['POST', '/api/v1/auth/deployment-credentials', { assertion: 'x.y.z' }],
  ['GET', '/api/v1/auth/jwks'],
  ['GET', '/api/v1/audit?actor=tok-0000000000'],
  ['POST', '/api/v1/audit/verify', {}],
];

test('without TP_REGISTRY_AUTH_URL every auth route answers 503 problem+json with Retry-After', async () => {
  for (const [method, path, body] of routes) {
    const answer = await call(unconfigured.url, method, path, body === undefined ? {} : { body });
    assert.equal(answer.status, 503, `${method} ${path}`);
    assert.match(answer.type, /application\/problem\+json/);
    assert.equal(answer.json.code, 'AUTH_SERVICE_NOT_CONFIGURED');
    assert.ok(Number(answer.headers.get('retry-after')) > 0);
  }
});

test('an unreachable auth service is 503 AUTH_SERVICE_UNAVAILABLE; the registry\'s own routes are untouched', async () => {
  for (const [method, path, body] of routes) {
    const answer = await call(unreachable.url, method, path, body === undefined ? {} : { body });
    assert.equal(answer.status, 503, `${method} ${path}`);
    assert.equal(answer.json.code, 'AUTH_SERVICE_UNAVAILABLE');
  }
  const own = await call(unreachable.url, 'GET', '/api/v1/trust-domains/a.example/deployments/east');
  assert.equal(own.status, 401);
});

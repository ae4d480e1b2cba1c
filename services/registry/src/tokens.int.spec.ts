// API tokens through the API: a token mints and revokes only tokens whose scopes are within its
// own (admin implies every scope), and an expired token is refused (401), with time as an input.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '@trustplane/platform';
import { call, startRegistryHarness, type RegistryHarness } from './testing/harness.js';

let h: RegistryHarness;
let admin: string;
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

const api = (token: string, method: string, path: string, body?: unknown) => call(h.url, method, path, { token, ...(body === undefined ? {} : { body }) });

before(async () => {
  h = await startRegistryHarness('tokens', {}, { clock });
  admin = (await h.organization('Tokens')).token;
});
after(async () => h.close());
beforeEach(() => {
  offsetMs = 0;
});

test('a tokens:write token cannot mint an admin token or any scope it lacks; admin can; nothing is appended on refusal', async () => {
  const writer = await api(admin, 'POST', '/api/v1/tokens', { name: 'writer', scopes: ['tokens:write'] });
  assert.equal(writer.status, 201);
  const before = await h.log.lastSequence();
  for (const scopes of [['admin'], ['tokens:write', 'entries:write'], ['trust-domains:read']]) {
    const refused = await api(writer.json.token, 'POST', '/api/v1/tokens', { name: 'escalate', scopes });
    assert.equal(refused.status, 403, JSON.stringify(scopes));
    assert.equal(refused.json.code, 'TOKEN_SCOPE_ESCALATION');
    assert.match(refused.type, /application\/problem\+json/);
  }
  assert.equal(await h.log.lastSequence(), before, 'nothing was appended');
  const same = await api(writer.json.token, 'POST', '/api/v1/tokens', { name: 'peer', scopes: ['tokens:write'] });
  assert.equal(same.status, 201);
  const all = await api(admin, 'POST', '/api/v1/tokens', { name: 'everything', scopes: ['admin', 'entries:write'] });
  assert.equal(all.status, 201);
});

test('revoking needs the same: a token revokes only tokens whose scopes it holds', async () => {
  const writer = await api(admin, 'POST', '/api/v1/tokens', { name: 'revoker', scopes: ['tokens:write', 'entries:read'] });
  const strong = await api(admin, 'POST', '/api/v1/tokens', { name: 'strong', scopes: ['admin'] });
  const weak = await api(admin, 'POST', '/api/v1/tokens', { name: 'weak', scopes: ['entries:read'] });
  const before = await h.log.lastSequence();
  const refused = await api(writer.json.token, 'DELETE', `/api/v1/tokens/${strong.json.id}`);
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'TOKEN_SCOPE_ESCALATION');
  assert.equal(await h.log.lastSequence(), before);
  assert.equal((await api(strong.json.token, 'GET', '/api/v1/organization')).status, 200, 'the admin token still works');
  assert.equal((await api(writer.json.token, 'DELETE', `/api/v1/tokens/${weak.json.id}`)).status, 204);
  assert.equal((await api(weak.json.token, 'GET', '/api/v1/organization')).status, 401);
  assert.equal((await api(admin, 'DELETE', `/api/v1/tokens/${strong.json.id}`)).status, 204);
});

test('an expired token gets 401; until then it works', async () => {
  const created = await api(admin, 'POST', '/api/v1/tokens', { name: 'short', scopes: ['entries:read'], ttlDays: 1 });
  assert.equal(created.status, 201);
  assert.equal(Date.parse(created.json.expiresAt), Date.parse(created.json.createdAt) + 86_400_000);
  assert.equal((await api(created.json.token, 'GET', '/api/v1/organization')).status, 200);
  offsetMs = 86_400_000 - 60_000;
  assert.equal((await api(created.json.token, 'GET', '/api/v1/organization')).status, 200, 'a minute before expiry');
  offsetMs = 86_400_000 + 1_000;
  const expired = await api(created.json.token, 'GET', '/api/v1/organization');
  assert.equal(expired.status, 401);
  assert.equal(expired.json.code, 'UNAUTHENTICATED');
  assert.equal((await api(admin, 'GET', '/api/v1/organization')).status, 200, 'a token without expiry still works');
  offsetMs = 0;
});

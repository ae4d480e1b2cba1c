import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  agentDecider,
  agentIdFor,
  agentSpiffeId,
  clusterDecider,
  isAgentId,
  isJoinTokenId,
  isValidNodeName,
  joinTokenDecider,
  joinTokenMatches,
  mintJoinToken,
  newClusterKeyId,
  newJoinTokenId,
  parseJoinToken,
} from './index.js';
import { given, rejectedWith, TEST_NOW, when } from './testing.js';

const TD = 'td-0000000001';
const CLUSTER_ID = 'c-0000000001';

function ed25519PublicKeyB64(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

// ---- cluster keys ----------------------------------------------------------------------------

test('cluster: create with a key appends cluster.created then cluster.key_registered', () => {
  const publicKey = ed25519PublicKeyB64();
  const decision = when(clusterDecider, given(clusterDecider), {
    kind: 'create',
    trustDomainId: TD,
    name: 'prod',
    platform: 'linux',
    description: '',
    key: { keyId: 'ck-0000000001', publicKey },
  });
  assert.ok(decision.ok);
  assert.deepEqual(
    decision.events.map((e) => e.type),
    ['cluster.created', 'cluster.key_registered'],
  );
  assert.deepEqual(decision.events[1]?.data, { trustDomainId: TD, keyId: 'ck-0000000001', publicKey });
  // The recorded key round-trips as an Ed25519 SPKI.
  assert.equal(createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType, 'ed25519');
});

test('cluster: keys that are not Ed25519 SPKI are refused', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ec = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  for (const key of [
    { keyId: 'ck-0000000001', publicKey: ec },
    { keyId: 'ck-0000000001', publicKey: 'not base64!' },
    { keyId: 'CK_bad', publicKey: ed25519PublicKeyB64() },
  ]) {
    const decision = when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: TD, name: 'prod', platform: 'linux', description: '', key });
    assert.equal(rejectedWith(decision), 'CLUSTER_KEY_INVALID');
  }
});

test('cluster: register-key adds a key; duplicate ids, disabled and absent clusters are refused', () => {
  const created = { type: 'cluster.created', schemaVersion: 1, data: { trustDomainId: TD, name: 'prod', platform: 'linux', description: '' } } as const;
  const registered = { type: 'cluster.key_registered', schemaVersion: 1, data: { trustDomainId: TD, keyId: 'ck-0000000001', publicKey: ed25519PublicKeyB64() } } as const;
  const state = given(clusterDecider, created, registered);
  assert.deepEqual(state.phase === 'active' && state.keyIds, ['ck-0000000001']);
  const next = when(clusterDecider, state, { kind: 'register-key', key: { keyId: 'ck-0000000002', publicKey: ed25519PublicKeyB64() } });
  assert.equal(next.ok && next.events[0]?.type, 'cluster.key_registered');
  assert.equal(rejectedWith(when(clusterDecider, state, { kind: 'register-key', key: registered.data })), 'CLUSTER_KEY_EXISTS');
  const disabled = given(clusterDecider, created, { type: 'cluster.disabled', schemaVersion: 1, data: { trustDomainId: TD } });
  assert.equal(rejectedWith(when(clusterDecider, disabled, { kind: 'register-key', key: { keyId: 'ck-0000000002', publicKey: ed25519PublicKeyB64() } })), 'CLUSTER_DISABLED');
  assert.equal(rejectedWith(when(clusterDecider, given(clusterDecider), { kind: 'register-key', key: registered.data })), 'CLUSTER_NOT_FOUND');
});

test('ids: join token and cluster key ids are prefix + 10 base36 characters', () => {
  const id = newJoinTokenId();
  assert.match(id, /^jt-[0-9a-z]{10}$/);
  assert.ok(isJoinTokenId(id));
  assert.ok(!isJoinTokenId('jt-ABCDEFGHIJ'));
  assert.ok(!isJoinTokenId('c-0000000001'));
  assert.match(newClusterKeyId(), /^ck-[0-9a-z]{10}$/);
  // Bytes ≥ 252 are skipped, the rest map by b % 36.
  assert.equal(newJoinTokenId((n) => Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 255 : 37))), 'jt-1111111111');
});

// ---- join tokens -----------------------------------------------------------------------------

test('join token: mint → parse → match round-trips; the token never equals what is stored', () => {
  const minted = mintJoinToken('jt-0123456789');
  assert.match(minted.token, /^tpjt_jt-0123456789_[A-Za-z0-9_-]{43}$/);
  const parsed = parseJoinToken(minted.token);
  assert.ok(parsed);
  assert.equal(parsed.id, 'jt-0123456789');
  assert.ok(joinTokenMatches(parsed.secret, minted.salt, minted.hash));
  assert.ok(!joinTokenMatches(parsed.secret.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), minted.salt, minted.hash));
  assert.ok(!minted.hash.includes(parsed.secret));
  for (const bad of ['', 'tp_jt-0123456789_' + 'a'.repeat(43), 'tpjt_jt-012345678_' + 'a'.repeat(44), 'tpjt_jt-0123456789_' + 'a'.repeat(42), 'tpjt_jt-0123456789-' + 'a'.repeat(43), 'tpjt_c-01234567890_' + 'a'.repeat(43)]) {
    assert.equal(parseJoinToken(bad), undefined, bad);
  }
  // A secret containing `_` still splits at the fixed id length.
  assert.deepEqual(parseJoinToken(`tpjt_jt-0123456789_${'_'.repeat(43)}`), { id: 'jt-0123456789', secret: '_'.repeat(43) });
});

const minted = mintJoinToken('jt-0123456789');
const tokenCreated = {
  type: 'jointoken.created',
  schemaVersion: 1,
  data: { trustDomainId: TD, clusterId: CLUSTER_ID, hash: minted.hash, salt: minted.salt, expiresAt: '2026-03-01T11:00:00.000Z' },
} as const;

test('join token: created with the default TTL of one hour; TTL is bounded to 60..86400 seconds', () => {
  const decision = when(joinTokenDecider, given(joinTokenDecider), { kind: 'create', trustDomainId: TD, clusterId: CLUSTER_ID, salt: minted.salt, hash: minted.hash, ttlSeconds: undefined });
  assert.deepEqual(decision, { ok: true, events: [tokenCreated] });
  const custom = when(joinTokenDecider, given(joinTokenDecider), { kind: 'create', trustDomainId: TD, clusterId: CLUSTER_ID, salt: minted.salt, hash: minted.hash, ttlSeconds: 60 });
  assert.equal(custom.ok && custom.events[0]?.type === 'jointoken.created' && custom.events[0].data.expiresAt, '2026-03-01T10:01:00.000Z');
  for (const ttlSeconds of [59, 86_401, 1.5, -1, Number.NaN]) {
    const refused = when(joinTokenDecider, given(joinTokenDecider), { kind: 'create', trustDomainId: TD, clusterId: CLUSTER_ID, salt: minted.salt, hash: minted.hash, ttlSeconds });
    assert.equal(rejectedWith(refused), 'JOIN_TOKEN_TTL_INVALID', String(ttlSeconds));
  }
  assert.equal(rejectedWith(when(joinTokenDecider, given(joinTokenDecider, tokenCreated), { kind: 'create', trustDomainId: TD, clusterId: CLUSTER_ID, salt: minted.salt, hash: minted.hash, ttlSeconds: undefined })), 'JOIN_TOKEN_EXISTS');
  assert.equal(rejectedWith(when(joinTokenDecider, given(joinTokenDecider), { kind: 'create', trustDomainId: TD, clusterId: CLUSTER_ID, salt: 'zz', hash: minted.hash, ttlSeconds: undefined })), 'JOIN_TOKEN_HASH_INVALID');
});

test('join token: used once; a second use is JOIN_TOKEN_USED, a late one JOIN_TOKEN_EXPIRED', () => {
  const state = given(joinTokenDecider, tokenCreated);
  const use = { kind: 'use', agentId: 'ag-0000000001', nodeName: 'node-1', now: TEST_NOW } as const;
  assert.deepEqual(when(joinTokenDecider, state, use), {
    ok: true,
    events: [{ type: 'jointoken.used', schemaVersion: 1, data: { agentId: 'ag-0000000001', nodeName: 'node-1', usedAt: TEST_NOW.toISOString() } }],
  });
  const used = given(joinTokenDecider, tokenCreated, { type: 'jointoken.used', schemaVersion: 1, data: { agentId: 'ag-0000000001', nodeName: 'node-1', usedAt: TEST_NOW.toISOString() } });
  assert.equal(used.phase, 'used');
  const again = when(joinTokenDecider, used, use);
  assert.equal(rejectedWith(again), 'JOIN_TOKEN_USED');
  assert.equal(!again.ok && again.error.kind, 'conflict');
  assert.equal(rejectedWith(when(joinTokenDecider, state, { ...use, now: new Date('2026-03-01T11:00:00.000Z') })), 'JOIN_TOKEN_EXPIRED');
  assert.equal(rejectedWith(when(joinTokenDecider, given(joinTokenDecider), use)), 'JOIN_TOKEN_NOT_FOUND');
  assert.equal(rejectedWith(when(joinTokenDecider, state, { ...use, nodeName: 'Bad_Node' })), 'NODE_NAME_INVALID');
});

// ---- agents ----------------------------------------------------------------------------------

test('agent: ids are derived deterministically from cluster and node', () => {
  const id = agentIdFor(CLUSTER_ID, 'node-1');
  assert.match(id, /^ag-[0-9a-z]{10}$/);
  assert.ok(isAgentId(id));
  assert.equal(agentIdFor(CLUSTER_ID, 'node-1'), id);
  assert.notEqual(agentIdFor(CLUSTER_ID, 'node-2'), id);
  assert.notEqual(agentIdFor('c-0000000002', 'node-1'), id);
  // Known answer, so the signer and registry can never drift apart.
  assert.equal(agentIdFor('c-0000000001', 'node-1'), 'ag-ac19q0qoyg');
});

test('agent: SPIFFE ID and node name rules', () => {
  assert.equal(agentSpiffeId('example.org', 'prod', 'node-1'), 'spiffe://example.org/agent/prod/node-1');
  assert.equal(agentSpiffeId('example.org', 'prod', 'ip-10-0-0-1.ec2.internal'), 'spiffe://example.org/agent/prod/ip-10-0-0-1.ec2.internal');
  for (const ok of ['a', 'node-1', '0', 'a'.repeat(63), 'n.example']) assert.ok(isValidNodeName(ok), ok);
  for (const bad of ['', 'a'.repeat(64), '-a', 'a-', '.', '..', 'Node', 'a_b', 'a/b', 'a b']) assert.ok(!isValidNodeName(bad), bad);
  assert.throws(() => agentSpiffeId('example.org', 'prod', '..'), { code: 'NODE_NAME_INVALID' });
  assert.throws(() => agentSpiffeId('Example.org', 'prod', 'node-1'), { code: 'AGENT_SPIFFE_ID_INVALID' });
});

const attest = {
  kind: 'attest',
  trustDomainId: TD,
  trustDomain: 'example.org',
  clusterId: CLUSTER_ID,
  clusterName: 'prod',
  nodeName: 'node-1',
  method: 'join_token',
  serialNumber: '0a1b2c',
  expiresAt: new Date('2026-03-01T11:00:00.000Z'),
} as const;
const attested = {
  type: 'agent.attested',
  schemaVersion: 1,
  data: {
    trustDomainId: TD,
    clusterId: CLUSTER_ID,
    clusterName: 'prod',
    nodeName: 'node-1',
    spiffeId: 'spiffe://example.org/agent/prod/node-1',
    method: 'join_token',
    serialNumber: '0a1b2c',
    expiresAt: '2026-03-01T11:00:00.000Z',
  },
} as const;
const bannedEvent = { type: 'agent.banned', schemaVersion: 1, data: { reason: 'stolen' } } as const;

test('agent: attest records the SPIFFE ID; re-attestation of a known node records a new serial', () => {
  assert.deepEqual(when(agentDecider, given(agentDecider), attest), { ok: true, events: [attested] });
  const again = when(agentDecider, given(agentDecider, attested), { ...attest, method: 'cluster_key', serialNumber: 'ff01' });
  assert.ok(again.ok);
  assert.deepEqual(again.events[0]?.data, { ...attested.data, method: 'cluster_key', serialNumber: 'ff01' });
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider, attested), { ...attest, nodeName: 'node-2' })), 'AGENT_IDENTITY_MISMATCH');
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider), { ...attest, nodeName: 'Node 1' })), 'NODE_NAME_INVALID');
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider), { ...attest, serialNumber: 'xyz' })), 'AGENT_SERIAL_INVALID');
});

test('agent: renew updates serial and expiry; refused when absent or banned', () => {
  const renew = { kind: 'renew', serialNumber: 'beef', expiresAt: new Date('2026-03-01T12:00:00.000Z') } as const;
  assert.deepEqual(when(agentDecider, given(agentDecider, attested), renew), {
    ok: true,
    events: [{ type: 'agent.renewed', schemaVersion: 1, data: { serialNumber: 'beef', expiresAt: '2026-03-01T12:00:00.000Z' } }],
  });
  const renewed = given(agentDecider, attested, { type: 'agent.renewed', schemaVersion: 1, data: { serialNumber: 'beef', expiresAt: '2026-03-01T12:00:00.000Z' } });
  assert.equal(renewed.phase === 'active' && renewed.serialNumber, 'beef');
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider), renew)), 'AGENT_NOT_FOUND');
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider, attested, bannedEvent), renew)), 'AGENT_BANNED');
});

test('agent: ban is idempotent, and a banned agent cannot attest again', () => {
  assert.deepEqual(when(agentDecider, given(agentDecider, attested), { kind: 'ban', reason: 'stolen' }), { ok: true, events: [bannedEvent] });
  const banned = given(agentDecider, attested, bannedEvent);
  assert.equal(banned.phase, 'banned');
  assert.deepEqual(when(agentDecider, banned, { kind: 'ban', reason: 'again' }), { ok: true, events: [] });
  const refused = when(agentDecider, banned, attest);
  assert.equal(rejectedWith(refused), 'AGENT_BANNED');
  assert.equal(rejectedWith(when(agentDecider, given(agentDecider), { kind: 'ban', reason: '' })), 'AGENT_NOT_FOUND');
});

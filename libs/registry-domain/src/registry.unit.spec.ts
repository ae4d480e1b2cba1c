import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiTokenDecider,
  blockersMessage,
  clusterDecider,
  deploymentDecider,
  entryDecider,
  mintToken,
  parseToken,
  tokenSecretMatches,
  trustDomainDecider,
  trustDomainNameDecider,
  type DeploymentState,
} from './index.js';
import { given, rejectedWith, when } from './testing.js';

const tdCreated = {
  type: 'trustdomain.created',
  schemaVersion: 1,
  data: { name: 'example.org', description: '', kind: 'managed', status: 'provisioning' },
} as const;

test('trust domain: created in provisioning; invalid names name the failing rule', () => {
  const decision = when(trustDomainDecider, given(trustDomainDecider), {
    kind: 'create',
    name: 'example.org',
    description: 'prod',
    trustDomainKind: 'self-hosted',
  });
  assert.deepEqual(decision, {
    ok: true,
    events: [{ type: 'trustdomain.created', schemaVersion: 1, data: { name: 'example.org', description: 'prod', kind: 'self-hosted', status: 'provisioning' } }],
  });
  for (const [name, rule] of [
    ['Example.org', 'TRUST_DOMAIN_UPPERCASE'],
    ['spiffe://example.org', 'TRUST_DOMAIN_HAS_SCHEME'],
    ['example.org:443', 'TRUST_DOMAIN_HAS_PORT'],
    ['', 'TRUST_DOMAIN_EMPTY'],
  ] as const) {
    const refused = when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name, description: '', trustDomainKind: 'managed' });
    assert.equal(rejectedWith(refused), 'TRUST_DOMAIN_NAME_INVALID', name);
    assert.equal(!refused.ok && refused.error.details?.['rule'], rule, name);
  }
});

test('trust domain: delete refuses while clusters remain, naming each', () => {
  const state = given(trustDomainDecider, tdCreated);
  const decision = when(trustDomainDecider, state, {
    kind: 'delete',
    blockers: [
      { kind: 'cluster', id: 'c-1qa5rgostn', name: 'production' },
      { kind: 'deployment', id: 'tdd-0000000001', name: 'default' },
    ],
  });
  assert.equal(rejectedWith(decision), 'TRUST_DOMAIN_IN_USE');
  assert.equal(
    !decision.ok && decision.error.message,
    'Trust domain has clusters in use; delete all clusters (production c-1qa5rgostn) before trying again',
    'a managed trust domain deletes its own deployment, so only clusters block it',
  );
  assert.deepEqual(when(trustDomainDecider, state, { kind: 'delete', blockers: [] }), {
    ok: true,
    events: [{ type: 'trustdomain.deleted', schemaVersion: 1, data: { name: 'example.org' } }],
  });
});

test('trust domain: a self-hosted one is also blocked by deployments; status only moves forward', () => {
  const state = given(trustDomainDecider, { ...tdCreated, data: { ...tdCreated.data, kind: 'self-hosted' } });
  const decision = when(trustDomainDecider, state, { kind: 'delete', blockers: [{ kind: 'deployment', id: 'tdd-0000000001', name: 'eu-1' }] });
  assert.equal(rejectedWith(decision), 'TRUST_DOMAIN_IN_USE');
  assert.match(blockersMessage([{ kind: 'deployment', id: 'tdd-0000000001', name: 'eu-1' }]), /delete all deployments \(eu-1 tdd-0000000001\)/);
  assert.equal(when(trustDomainDecider, state, { kind: 'set-status', status: 'available' }).ok, true);
  const available = given(trustDomainDecider, tdCreated, { type: 'trustdomain.status_changed', schemaVersion: 1, data: { status: 'available' } });
  assert.deepEqual(when(trustDomainDecider, available, { kind: 'set-status', status: 'provisioning' }), { ok: true, events: [] });
});

test('trust domain names: a held name is refused, a released one can be reserved again', () => {
  const held = given(trustDomainNameDecider, { type: 'trustdomainname.reserved', schemaVersion: 1, data: { name: 'example.org', trustDomainId: 'td-a' } });
  assert.equal(rejectedWith(when(trustDomainNameDecider, held, { kind: 'reserve', name: 'example.org', trustDomainId: 'td-b' })), 'TRUST_DOMAIN_NAME_TAKEN');
  const released = given(
    trustDomainNameDecider,
    { type: 'trustdomainname.reserved', schemaVersion: 1, data: { name: 'example.org', trustDomainId: 'td-a' } },
    { type: 'trustdomainname.released', schemaVersion: 1, data: { name: 'example.org', trustDomainId: 'td-a' } },
  );
  assert.equal(when(trustDomainNameDecider, released, { kind: 'reserve', name: 'example.org', trustDomainId: 'td-b' }).ok, true);
});

test('deployment: active keys block deletion unless forced; a managed one only goes with its trust domain', () => {
  const live: DeploymentState = { phase: 'live', trustDomainId: 'td-1', name: 'eu-1', managed: false };
  assert.equal(rejectedWith(when(deploymentDecider, live, { kind: 'delete', force: false, activeKeys: 2 })), 'DEPLOYMENT_HAS_ACTIVE_KEYS');
  assert.equal(when(deploymentDecider, live, { kind: 'delete', force: true, activeKeys: 2 }).ok, true);
  assert.equal(when(deploymentDecider, live, { kind: 'delete', force: false, activeKeys: 0 }).ok, true);
  const managed = given(deploymentDecider, { type: 'deployment.created', schemaVersion: 1, data: { trustDomainId: 'td-1', name: 'default', region: '', managed: true } });
  assert.equal(rejectedWith(when(deploymentDecider, managed, { kind: 'delete', force: false, activeKeys: 0 })), 'MANAGED_TRUST_DOMAIN_DEPLOYMENT');
  assert.equal(when(deploymentDecider, managed, { kind: 'delete', force: true, activeKeys: 1, cascadeFromTrustDomain: true }).ok, true);
  assert.equal(rejectedWith(when(deploymentDecider, given(deploymentDecider), { kind: 'create', trustDomainId: 'td-1', name: 'EU_1', region: '', managed: false })), 'DEPLOYMENT_NAME_INVALID');
});

test('cluster: disable before delete; at most 10 config versions kept', () => {
  const created = { type: 'cluster.created', schemaVersion: 1, data: { trustDomainId: 'td-1', name: 'production', platform: 'k8s', description: '' } } as const;
  const active = given(clusterDecider, created);
  assert.equal(rejectedWith(when(clusterDecider, active, { kind: 'delete' })), 'CLUSTER_NOT_DISABLED');
  const disabled = given(clusterDecider, created, { type: 'cluster.disabled', schemaVersion: 1, data: { trustDomainId: 'td-1' } });
  assert.equal(when(clusterDecider, disabled, { kind: 'delete' }).ok, true);
  const versions = Array.from({ length: 12 }, (_, i) => ({
    type: 'cluster.config_version_added' as const,
    schemaVersion: 1 as const,
    data: { trustDomainId: 'td-1', versionId: `cv-${String(i).padStart(10, '0')}`, config: {} },
  }));
  const state = given(clusterDecider, created, ...versions);
  assert.ok(state.phase === 'active');
  assert.equal(state.configVersions.length, 10);
  assert.equal(state.configVersions[0], 'cv-0000000011');
  assert.equal(rejectedWith(when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: 'td-1', name: 'x', platform: 'mainframe', description: '' })), 'CLUSTER_PLATFORM_INVALID');
});

const entryInput = {
  spiffeId: 'spiffe://example.org/payments',
  parentId: 'spiffe://example.org/agent/c-0000000001/node-1',
  selectors: ['unix:uid:1000'],
};

test('entry: validated against its trust domain; every change bumps the revision', () => {
  const created = when(entryDecider, given(entryDecider), { kind: 'create', trustDomainId: 'td-1', trustDomainName: 'example.org', input: entryInput });
  assert.ok(created.ok);
  const event = created.events[0];
  assert.equal(event?.type === 'entry.created' && event.data.revision, 1);
  const state = given(entryDecider, ...created.events);
  const updated = when(entryDecider, state, {
    kind: 'update',
    trustDomainName: 'example.org',
    expectedRevision: 1,
    input: { ...entryInput, selectors: ['unix:uid:1001'] },
  });
  assert.ok(updated.ok);
  const next = updated.events[0];
  assert.equal(next?.type === 'entry.updated' && next.data.revision, 2);
  assert.equal(
    rejectedWith(when(entryDecider, state, { kind: 'update', trustDomainName: 'example.org', expectedRevision: 7, input: entryInput })),
    'ENTRY_REVISION_MISMATCH',
  );
  assert.deepEqual(when(entryDecider, state, { kind: 'update', trustDomainName: 'example.org', expectedRevision: 1, input: entryInput }), { ok: true, events: [] });
});

test('entry: removed with its trust domain once; again (a retry, the reconciler) is a no-op, unlike delete', () => {
  const created = when(entryDecider, given(entryDecider), { kind: 'create', trustDomainId: 'td-1', trustDomainName: 'example.org', input: entryInput });
  assert.ok(created.ok);
  const live = given(entryDecider, ...created.events);
  const removed = when(entryDecider, live, { kind: 'remove-with-trust-domain' });
  assert.equal(removed.ok && removed.events[0]?.type, 'entry.deleted');
  assert.deepEqual(removed.ok && removed.events[0]?.data, { trustDomainId: 'td-1', spiffeId: 'spiffe://example.org/payments' });
  const gone = given(entryDecider, ...created.events, ...(removed.ok ? removed.events : []));
  assert.deepEqual(when(entryDecider, gone, { kind: 'remove-with-trust-domain' }), { ok: true, events: [] });
  assert.deepEqual(when(entryDecider, given(entryDecider), { kind: 'remove-with-trust-domain' }), { ok: true, events: [] });
  assert.equal(rejectedWith(when(entryDecider, gone, { kind: 'delete' })), 'ENTRY_NOT_FOUND');
});

test('entry: another trust domain, bad selectors and agent paths are refused with the failing field', () => {
  const refuse = (input: Record<string, unknown>) =>
    when(entryDecider, given(entryDecider), { kind: 'create', trustDomainId: 'td-1', trustDomainName: 'example.org', input: { ...entryInput, ...input } });
  const otherTd = refuse({ spiffeId: 'spiffe://other.org/payments' });
  assert.equal(rejectedWith(otherTd), 'ENTRY_INVALID');
  assert.match(!otherTd.ok ? otherTd.error.message : '', /spiffeId/);
  assert.equal(rejectedWith(refuse({ selectors: ['nocolon'] })), 'ENTRY_INVALID');
  assert.equal(rejectedWith(refuse({ selectors: [] })), 'ENTRY_INVALID');
  assert.equal(rejectedWith(refuse({ spiffeId: 'spiffe://example.org/agent/x' })), 'ENTRY_INVALID');
});

test('api token: only a salted hash is recorded; scopes are checked', () => {
  const minted = mintToken('tok-0000000001');
  const decision = when(apiTokenDecider, given(apiTokenDecider), {
    kind: 'create',
    name: 'ci',
    scopes: ['entries:read', 'trust-domains:read'],
    ttlDays: 30,
    salt: minted.salt,
    hash: minted.hash,
    authority: { kind: 'host' },
  });
  assert.ok(decision.ok);
  const data = decision.events[0]?.data;
  assert.deepEqual(data?.scopes, ['trust-domains:read', 'entries:read']);
  assert.equal(data?.expiresAt, '2026-03-31T10:00:00.000Z');
  assert.doesNotMatch(JSON.stringify(decision), new RegExp(minted.token.split('_').at(-1) ?? 'x'));
  const parsed = parseToken(minted.token);
  assert.equal(parsed?.tokenId, 'tok-0000000001');
  assert.ok(parsed && tokenSecretMatches(parsed.secret, minted.salt, minted.hash));
  assert.equal(tokenSecretMatches('A'.repeat(43), minted.salt, minted.hash), false);
  assert.equal(parseToken('Bearer nonsense'), undefined);
  assert.equal(
    rejectedWith(when(apiTokenDecider, given(apiTokenDecider), { kind: 'create', name: 'x', scopes: ['root'], ttlDays: undefined, salt: '', hash: '', authority: { kind: 'host' } })),
    'TOKEN_SCOPE_UNKNOWN',
  );
});

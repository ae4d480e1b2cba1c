// Rules every registry decider applies before anything is appended: the shared text rule on
// every free-text field, names that cannot be mistaken for ids, scope subsets for tokens, and the
// abandonment of a trust domain id whose creation never completed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiScope, Decision, EventDefinition } from '@trustplane/events';
import { isResourceId, RESOURCE_KINDS } from '@trustplane/spiffe';
import {
  agentDecider,
  apiTokenDecider,
  clusterDecider,
  configSectionDecider,
  deploymentDecider,
  derivedJoinTokenId,
  derivedResourceId,
  entryDecider,
  isJoinTokenId,
  mintToken,
  organizationDecider,
  scopesCover,
  trustDomainDecider,
  validateAgentSpec,
  type ApiTokenCommand,
  type TokenAuthority,
} from './index.js';
import { given, rejectedWith, when } from './testing.js';

const BAD_TEXT: readonly string[] = ['a\u0000b', 'a\ud800b', 'x\udfff', 'bell\u0007', '\u001b[2J', 'x\u202ey', 'x\uffff'];

function refusedAsInvalid<E extends EventDefinition<string, number, unknown>>(decision: Decision<E>, label: string): void {
  assert.equal(decision.ok, false, `${label} was accepted`);
  assert.equal(!decision.ok && decision.error.kind, 'invalid', label);
}

const clusterState = given(clusterDecider, { type: 'cluster.created', schemaVersion: 1, data: { trustDomainId: 'td-1', name: 'prod', platform: 'linux', description: '' } });
const attested = {
  type: 'agent.attested',
  schemaVersion: 1,
  data: {
    trustDomainId: 'td-1',
    clusterId: 'c-1',
    clusterName: 'prod',
    nodeName: 'n1',
    spiffeId: 'spiffe://example.org/agent/prod/n1',
    method: 'join_token',
    serialNumber: 'ab',
    expiresAt: '2030-01-01T00:00:00.000Z',
  },
} as const;
const agentState = given(agentDecider, attested);
const host: TokenAuthority = { kind: 'host' };
const minted = mintToken('tok-0000000001');
const tokenCreate = (name: string, scopes: ApiScope[], authority: TokenAuthority): ApiTokenCommand => ({
  kind: 'create',
  name,
  scopes,
  ttlDays: undefined,
  salt: minted.salt,
  hash: minted.hash,
  authority,
});

test('every free-text field of every registry command goes through the shared text rule', () => {
  const configDecider = configSectionDecider({ 'trust-domain-deployment': {}, cluster: { agent: validateAgentSpec } });
  for (const bad of BAD_TEXT) {
    const label = JSON.stringify(bad);
    refusedAsInvalid(when(organizationDecider, given(organizationDecider), { kind: 'create', id: 't-1', name: bad }), `organization name ${label}`);
    refusedAsInvalid(when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name: 'example.org', description: bad, trustDomainKind: 'managed' }), `description ${label}`);
    refusedAsInvalid(when(deploymentDecider, given(deploymentDecider), { kind: 'create', trustDomainId: 'td-1', name: 'eu', region: bad, managed: false }), `region ${label}`);
    refusedAsInvalid(when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: 'td-1', name: 'prod', platform: 'linux', description: bad }), `cluster description ${label}`);
    refusedAsInvalid(when(clusterDecider, clusterState, { kind: 'add-config-version', versionId: 'cv-1', config: { nested: [{ value: bad }] } }), `config value ${label}`);
    refusedAsInvalid(when(clusterDecider, clusterState, { kind: 'add-config-version', versionId: 'cv-1', config: { [bad]: 1 } }), `config key ${label}`);
    refusedAsInvalid(when(apiTokenDecider, given(apiTokenDecider), tokenCreate(bad, ['entries:read'], host)), `token name ${label}`);
    refusedAsInvalid(when(agentDecider, agentState, { kind: 'ban', reason: bad }), `ban reason ${label}`);
    refusedAsInvalid(
      when(entryDecider, given(entryDecider), {
        kind: 'create',
        trustDomainId: 'td-1',
        trustDomainName: 'example.org',
        input: { spiffeId: 'spiffe://example.org/x', parentId: 'spiffe://example.org/agent/p/n', selectors: ['unix:uid:1'], hint: bad },
      }),
      `entry hint ${label}`,
    );
    refusedAsInvalid(
      when(configDecider, given(configDecider), {
        kind: 'set',
        targetKind: 'cluster',
        targetId: 'c-1',
        trustDomainId: 'td-1',
        section: 'agent',
        schema: 'v1',
        spec: { logLevel: bad },
      }),
      `config section spec ${label}`,
    );
  }
  const deep = JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as Record<string, unknown>;
  assert.equal(rejectedWith(when(clusterDecider, clusterState, { kind: 'add-config-version', versionId: 'cv-1', config: deep })), 'CLUSTER_CONFIG_INVALID');
});

test('text is stored in NFC; a banned agent is still refused a bad reason', () => {
  const decision = when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name: 'example.org', description: 'Cafe\u0301', trustDomainKind: 'managed' });
  assert.ok(decision.ok);
  assert.deepEqual(decision.events[0]?.data, { name: 'example.org', description: 'Caf\u00e9', kind: 'managed', status: 'provisioning' });
  const banned = given(agentDecider, attested, { type: 'agent.banned', schemaVersion: 1, data: { reason: 'x' } });
  assert.equal(banned.phase, 'banned');
  refusedAsInvalid(when(agentDecider, banned, { kind: 'ban', reason: 'a\u0000' }), 'banned agent');
});

test('names shaped like resource ids are refused', () => {
  assert.equal(rejectedWith(when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name: 'td-0123456789', description: '', trustDomainKind: 'managed' })), 'TRUST_DOMAIN_NAME_INVALID');
  assert.equal(rejectedWith(when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name: 'c-0123456789', description: '', trustDomainKind: 'managed' })), 'TRUST_DOMAIN_NAME_INVALID');
  assert.equal(rejectedWith(when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: 'td-1', name: 'c-0123456789', platform: 'linux', description: '' })), 'CLUSTER_NAME_INVALID');
  assert.equal(rejectedWith(when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: 'td-1', name: 'jt-0123456789', platform: 'linux', description: '' })), 'CLUSTER_NAME_INVALID');
  assert.equal(rejectedWith(when(deploymentDecider, given(deploymentDecider), { kind: 'create', trustDomainId: 'td-1', name: 'tdd-0123456789', region: '', managed: false })), 'DEPLOYMENT_NAME_INVALID');
  assert.equal(rejectedWith(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('tok-0123456789', ['entries:read'], host))), 'TOKEN_NAME_INVALID');
  assert.equal(rejectedWith(when(organizationDecider, given(organizationDecider), { kind: 'create', id: 't-1', name: 'T-0123456789' })), 'ORGANIZATION_NAME_INVALID');
  // Names that merely start like an id are fine.
  assert.ok(when(clusterDecider, given(clusterDecider), { kind: 'create', trustDomainId: 'td-1', name: 'c-prod', platform: 'linux', description: '' }).ok);
  assert.ok(when(trustDomainDecider, given(trustDomainDecider), { kind: 'create', name: 'td-0123456789.example.org', description: '', trustDomainKind: 'managed' }).ok);
});

test('a token mints and revokes only tokens whose scopes are a subset of its own; admin implies every scope', () => {
  const writer: TokenAuthority = { kind: 'token', scopes: ['tokens:write'] };
  const escalate = when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['admin'], writer));
  assert.equal(rejectedWith(escalate), 'TOKEN_SCOPE_ESCALATION');
  assert.equal(!escalate.ok && escalate.error.kind, 'forbidden');
  assert.equal(rejectedWith(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['tokens:write', 'entries:read'], writer))), 'TOKEN_SCOPE_ESCALATION');
  assert.ok(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['tokens:write'], writer)).ok);
  const mixed: TokenAuthority = { kind: 'token', scopes: ['tokens:write', 'entries:read', 'entries:write'] };
  assert.ok(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['entries:read'], mixed)).ok);
  assert.ok(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['admin', 'entries:read'], { kind: 'token', scopes: ['admin'] })).ok);
  assert.ok(when(apiTokenDecider, given(apiTokenDecider), tokenCreate('x', ['admin'], host)).ok);

  const adminToken = given(apiTokenDecider, { type: 'apitoken.created', schemaVersion: 1, data: { name: 'root', scopes: ['admin'], salt: '', hash: '', expiresAt: null } });
  assert.equal(rejectedWith(when(apiTokenDecider, adminToken, { kind: 'revoke', authority: writer })), 'TOKEN_SCOPE_ESCALATION');
  assert.deepEqual(when(apiTokenDecider, adminToken, { kind: 'revoke', authority: { kind: 'token', scopes: ['admin'] } }), {
    ok: true,
    events: [{ type: 'apitoken.revoked', schemaVersion: 1, data: {} }],
  });
  assert.ok(scopesCover(['admin'], ['tokens:write', 'entries:write']));
  assert.ok(!scopesCover(['trust-domains:write'], ['trust-domains:read']), 'write does not imply read');
});

test('abandon closes an id whose creation never completed; a late create of it is refused', () => {
  const abandoned = when(trustDomainDecider, given(trustDomainDecider), { kind: 'abandon', name: 'example.org' });
  assert.deepEqual(abandoned, { ok: true, events: [{ type: 'trustdomain.deleted', schemaVersion: 1, data: { name: 'example.org' } }] });
  const closed = given(trustDomainDecider, { type: 'trustdomain.deleted', schemaVersion: 1, data: { name: 'example.org' } });
  assert.equal(rejectedWith(when(trustDomainDecider, closed, { kind: 'create', name: 'example.org', description: '', trustDomainKind: 'managed' })), 'TRUST_DOMAIN_CREATION_ABANDONED');
  const live = given(trustDomainDecider, { type: 'trustdomain.created', schemaVersion: 1, data: { name: 'example.org', description: '', kind: 'managed', status: 'provisioning' } });
  assert.deepEqual(when(trustDomainDecider, live, { kind: 'abandon', name: 'example.org' }), { ok: true, events: [] });
  assert.deepEqual(when(trustDomainDecider, closed, { kind: 'abandon', name: 'example.org' }), { ok: true, events: [] });
});

test('derived ids: same seed, same id; valid shape; each kind its own id', () => {
  for (const kind of RESOURCE_KINDS) {
    const id = derivedResourceId(kind, 't-1\nkey-1');
    assert.ok(isResourceId(kind, id), id);
    assert.equal(derivedResourceId(kind, 't-1\nkey-1'), id);
    assert.notEqual(derivedResourceId(kind, 't-2\nkey-1'), id);
  }
  assert.notEqual(derivedResourceId('cluster', 's').slice(2), derivedResourceId('entry', 's').slice(2));
  assert.ok(isJoinTokenId(derivedJoinTokenId('s')));
});
